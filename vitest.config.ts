import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/output-scan.ts"],
    // Bundling and child processes need real processes; threads break esbuild.
    pool: "forks",
    // Two files at once, even on two cores (vitest's default there is one): most of the suite waits on
    // child processes, sockets and installs, and it takes 3 minutes instead of 5 (npm test, measured).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
