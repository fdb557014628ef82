// Where a run keeps its state in the job's store: each batch's file and the ledger over them. The
// steps (steps.ts) and the follow-up (follow.ts) read and write the same files.
import type { BatchFile, BatchSummary, Ledger, StateCounts } from "./ledger.ts";
import { runKey } from "./store.ts";

export const batchKey = (run: string, first: number) => runKey(run, `batches/${first}.json`);
export const ledgerKey = (run: string) => runKey(run, "ledger.json");

/** A batch's file as a child writes it, with what the child answered, and each settled operation's counts. */
export type RecordedBatch = BatchFile & { summary: BatchSummary; settled?: Record<string, StateCounts> };

/** The operations of a run not settled yet. */
export const pendingOf = (ledger: Ledger) => ledger.batches.reduce((sum, batch) => sum + batch.pending.length, 0);

/** Lambda hands Step Functions `{errorType, errorMessage, trace}` as the cause: keep the message. */
export function reasonOf(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? "";
  try {
    const parsed = JSON.parse(cause ?? "") as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") message = parsed.errorMessage;
  } catch {
    // Not JSON: the cause as it is.
  }
  return `${error ?? "Failed"}${message ? `: ${message}` : ""}`;
}

export interface MapFailure {
  Error: string;
  Cause?: string;
}
