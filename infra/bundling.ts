// How the functions are built, in one place: `npm run build` and the stack both call buildFunctions,
// so what is measured and tested is what ships. One esbuild run for both entries, split into ESM
// chunks: what a submit does not touch (the S3 and Step Functions clients) sits in chunks of its own,
// loaded on first use only.
import { type BuildOptions, buildSync, type Metafile } from "esbuild";

/** Each deployed entry: its source, and the file (without .mjs) Lambda's handler setting names. */
export const FUNCTION_ENTRIES = {
  handler: "lambda/handler.ts",
  "workflow-handler": "lambda/workflow-handler.ts",
  "queue-handler": "lambda/queue-handler.ts",
  "job-handler": "lambda/job-handler.ts",
} as const;
export type FunctionEntry = keyof typeof FUNCTION_ENTRIES;

/** The AWS SDK still calls require(); an ESM bundle has to provide it. */
export const ESM_REQUIRE_BANNER = "import{createRequire}from'module';const require=createRequire(import.meta.url);";

export const bundleOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  sourcemap: true,
  // Stack traces keep their file and line; the sources themselves would only add to every cold start.
  sourcesContent: false,
  mainFields: ["module", "main"],
  banner: { js: ESM_REQUIRE_BANNER },
  // The SDK is bundled, not taken from the runtime, so the tested version is the deployed one.
  external: [],
} satisfies BuildOptions;

/** Writes `<outdir>/handler.mjs`, `<outdir>/job-handler.mjs` and their shared chunks. */
export function buildFunctions(outdir: string): Metafile {
  const { metafile } = buildSync({
    ...bundleOptions,
    entryPoints: FUNCTION_ENTRIES,
    splitting: true,
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    metafile: true,
    logLevel: "warning",
  });
  return metafile;
}

/** The output files a cold start of `entry` loads before it runs: the entry and its static imports, not its lazy chunks. */
export function loadedAtStart(metafile: Metafile, entry: FunctionEntry): string[] {
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? [])
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
  };
  const [file] = Object.entries(metafile.outputs).find(([, output]) => output.entryPoint === FUNCTION_ENTRIES[entry]) ?? [];
  if (file) visit(file);
  return [...loaded];
}
