// How the function is bundled, in one place: `npm run build` and the stack's NodejsFunction both
// take these options, so what is measured and tested is what ships.
import type { BuildOptions } from "esbuild";

export const HANDLER_ENTRY = "lambda/handler.ts";

/** The AWS SDK still calls require(); an ESM bundle has to provide it. */
export const ESM_REQUIRE_BANNER = "import{createRequire}from'module';const require=createRequire(import.meta.url);";

export const bundleOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  sourcemap: true,
  mainFields: ["module", "main"],
  banner: { js: ESM_REQUIRE_BANNER },
  // The SDK is bundled, not taken from the runtime, so the tested version is the deployed one.
  external: [],
} satisfies BuildOptions;
