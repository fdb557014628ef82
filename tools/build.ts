// `npm run build`: writes the deployable code to dist/ (the entries, their chunks, their source maps and
// the esbuild metafile), as the stack builds it for deployment.
import { rmSync, writeFileSync } from "node:fs";
import { buildFunctions, FUNCTION_ENTRIES, type FunctionEntry, loadedAtStart } from "../infra/bundling.ts";

export const DIST = "dist";

if (import.meta.url === `file://${process.argv[1]}`) {
  rmSync(DIST, { recursive: true, force: true });
  const metafile = buildFunctions(DIST);
  writeFileSync(`${DIST}/meta.json`, JSON.stringify(metafile));
  for (const entry of Object.keys(FUNCTION_ENTRIES) as FunctionEntry[]) {
    const files = loadedAtStart(metafile, entry);
    const kb = files.reduce((sum, file) => sum + (metafile.outputs[file]?.bytes ?? 0), 0) / 1024;
    console.log(`${DIST}/${entry}.mjs\t${kb.toFixed(1)} KB loaded at start (${files.length} files)`);
  }
}
