// `npm run build`: writes the deployable bundle to dist/handler.mjs, with its esbuild metafile.
import { build } from "esbuild";
import { writeFile } from "node:fs/promises";
import { bundleOptions, HANDLER_ENTRY } from "./bundling.ts";

export async function buildBundle(outfile = "dist/handler.mjs") {
  const result = await build({ ...bundleOptions, entryPoints: [HANDLER_ENTRY], outfile, metafile: true, logLevel: "warning" });
  await writeFile(`${outfile}.meta.json`, JSON.stringify(result.metafile));
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { metafile } = await buildBundle();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    console.log(`${file}\t${(output.bytes / 1024).toFixed(1)} KB`);
  }
}
