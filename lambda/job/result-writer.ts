// The Distributed Map's ResultWriter files, read as the children's results: `manifest.json` under the
// run's prefix names a file per status (SUCCEEDED_n.json, FAILED_n.json, PENDING_n.json), each an array
// of child executions with their Input and Output (or Error and Cause) as JSON text.
import * as z from "zod/mini";
import type { ChildResult } from "./children.ts";
import type { BatchSummary } from "./ledger.ts";
import type { JobStore } from "./store.ts";

const files = z._default(z.array(z.object({ Key: z.string() })), []);
const manifestSchema = z.object({ ResultFiles: z.object({ SUCCEEDED: files, FAILED: files, PENDING: files }) });
const optionalText = z.optional(z.string());
const childSchema = z.looseObject({
  Status: z.string(),
  Input: optionalText,
  Output: optionalText,
  Error: optionalText,
  Cause: optionalText,
});

/** The children's results under `prefix`; none when the map wrote no manifest (it stopped before writing). */
export async function* resultWriterResults(store: JobStore, prefix: string): AsyncGenerator<ChildResult> {
  let manifestKey: string | undefined;
  for await (const key of store.list(prefix)) if (key.endsWith("/manifest.json")) manifestKey = key;
  if (!manifestKey) return;
  const manifest = manifestSchema.parse(await store.getJson(manifestKey));
  const { SUCCEEDED, FAILED, PENDING } = manifest.ResultFiles;
  // One file at a time: each is parsed, used and dropped.
  for (const file of [...SUCCEEDED, ...FAILED, ...PENDING]) {
    for (const child of z.array(childSchema).parse(await store.getJson(file.Key))) {
      const input = JSON.parse(child.Input ?? "{}") as { first: number };
      yield {
        first: input.first,
        status: child.Status,
        ...(child.Status === "SUCCEEDED" && child.Output ? { output: JSON.parse(child.Output) as BatchSummary } : {}),
        ...(child.Error === undefined ? {} : { error: child.Error }),
        ...(child.Cause === undefined ? {} : { cause: child.Cause }),
      };
    }
  }
}
