import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/output-scan.ts"],
    // Bundling and child processes need real processes; threads break esbuild.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
