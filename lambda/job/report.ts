// The job's report and retry file (CONTRACT §7), streamed in one pass over the file: every line that is
// not applied is in the report with its number, customer id, state and reason, and in the retry file
// verbatim. Only the batches holding such lines have their files read, a few ahead of the pass.
import { allLines, type BatchFile, count, type Ledger, type LedgerBatch, type LineOutcome, type StateCounts, totalsOf } from "./ledger.ts";
import { nonBlank, type ReadLine } from "./lines.ts";
import { batchKey, ledgerKey, type MapFailure, type RecordedBatch, reasonOf } from "./run-files.ts";
import { type JobStore, type ObjectWriter, runKey } from "./store.ts";

export interface ReportTotals extends StateCounts {
  /** Non-blank lines: applied + failed + inDoubt + unsent + unchanged. */
  lines: number;
  /** Lines in requests Kustomer accepted. */
  sent: number;
  unchanged: number;
}

export interface ReportSummary extends ReportTotals {
  report: string;
  retry: string;
}

export interface ReportInput {
  totals: ReportTotals;
  batches: LedgerBatch[];
  lines: AsyncIterable<ReadLine>;
  /** A line's bytes, for a line too long to have been held. */
  bytes(start: number, end: number): Promise<AsyncIterable<Uint8Array>>;
  /** A batch's lines that are not applied. */
  batchFile(batch: LedgerBatch): Promise<LineOutcome[]>;
  report: ObjectWriter;
  retry: ObjectWriter;
}

/** Batch files read ahead of the pass. */
const READ_AHEAD = 8;

/** A line's customer id, read from the line itself when its batch failed whole. */
function idOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

const settledAll = (batch: LedgerBatch) => !batch.whole && batch.failed + batch.inDoubt + batch.unsent === 0 && batch.pending.length === 0;

/** The line as the file holds it, newline-terminated: its text, its bytes, or (too long to hold) a copy from the file. */
async function copyLine(read: ReadLine, retry: ObjectWriter, bytes: ReportInput["bytes"]): Promise<void> {
  if (!read.unreadable) return retry.write(`${read.text}\n`);
  if (read.raw) {
    await retry.write(read.raw);
    return retry.write("\n");
  }
  let last = 0;
  for await (const chunk of await bytes(read.start, read.start + read.bytes)) {
    await retry.write(chunk);
    last = chunk.at(-1) ?? last;
  }
  if (last !== 0x0a) await retry.write("\n");
}

export async function writeReport({ totals, batches, lines, bytes, batchFile, report, retry }: ReportInput): Promise<ReportSummary> {
  const ordered = [...batches].sort((a, b) => a.first - b.first);
  const loads = new Map<number, Promise<Map<number, LineOutcome>>>();
  const load = (index: number) => {
    for (let ahead = index; ahead < Math.min(ordered.length, index + READ_AHEAD); ahead += 1) {
      const batch = ordered[ahead] as LedgerBatch;
      if (loads.has(ahead) || batch.whole || settledAll(batch)) continue;
      loads.set(
        ahead,
        batchFile(batch).then((outcomes) => new Map(outcomes.map((outcome) => [outcome.line, outcome]))),
      );
    }
    return loads.get(index);
  };
  const { lines: count, sent, applied, failed, inDoubt, unsent, unchanged } = totals;
  const header = JSON.stringify({ lines: count, sent, applied, failed, inDoubt, unsent, unchanged }, null, 2);
  await report.write(`${header.slice(0, -2)},\n  "failures": [`);
  let written = 0;
  let index = 0;
  let current: Map<number, LineOutcome> | undefined;
  for await (const read of lines) {
    const { line, text } = read;
    let batch = ordered[index];
    while (batch && line > batch.last) {
      loads.delete(index);
      current = undefined;
      batch = ordered[++index];
    }
    if (!batch || line < batch.first || settledAll(batch)) continue;
    let outcome: Omit<LineOutcome, "line"> | undefined = batch.whole;
    // A batch that failed whole failed only the lines it was to send: the others were unchanged.
    if (outcome && batch.sends && !batch.sends.includes(line)) continue;
    if (!outcome) {
      current ??= await load(index);
      outcome = current?.get(line);
    } else load(index);
    if (!outcome) continue;
    const id = outcome.id ?? idOf(text);
    const entry = { line, ...(id === undefined ? {} : { id }), state: outcome.state, reason: outcome.reason };
    await report.write(`${written ? "," : ""}\n    ${JSON.stringify(entry)}`);
    await copyLine(read, retry, bytes);
    written += 1;
  }
  await report.write(`${written ? "\n  " : ""}]\n}\n`);
  return { ...totals, report: await report.end(), retry: await retry.end() };
}

/**
 * The report: an operation still pending leaves its lines in doubt, because the status timeout passed
 * or, when `followFailed` says so, because following stopped on an error.
 */
export async function report(
  store: JobStore,
  key: string,
  run: string,
  statusTimeoutMinutes: number,
  followFailed?: MapFailure,
): Promise<ReportSummary> {
  const ledger = await store.getJson<Ledger>(ledgerKey(run));
  for (const batch of ledger.batches.filter(({ pending }) => pending.length > 0)) {
    // A Follow cut off after settling a batch's file, before the ledger: the file's counts stand.
    const { settled = {} } = await store.getJson<RecordedBatch>(batchKey(run, batch.first));
    for (const operation of batch.pending) {
      const counts = settled[operation.bulkId];
      if (!counts) count(batch, "inDoubt", operation.items);
      else for (const state of ["applied", "failed", "inDoubt", "unsent"] as const) count(batch, state, counts[state]);
    }
  }
  const stillPending = (bulkId: string) =>
    followFailed
      ? `following bulk operation ${bulkId} stopped (${reasonOf(followFailed.Error, followFailed.Cause)}): what Kustomer made of it is not known`
      : `Kustomer did not complete bulk operation ${bulkId} within ${statusTimeoutMinutes} minutes`;
  return writeReport({
    totals: { lines: ledger.lines, ...totalsOf(ledger) },
    batches: ledger.batches,
    lines: nonBlank(store.lines(key, undefined, ledger.version)),
    bytes: (start, end) => store.bytes(key, start, end, ledger.version),
    batchFile: async (batch) => {
      const file = await store.getJson<BatchFile>(batchKey(run, batch.first));
      const outcomes = [
        ...file.outcomes,
        ...file.pending.flatMap((operation) => allLines(operation, "inDoubt", stillPending(operation.bulkId))),
      ];
      return outcomes.sort((a, b) => a.line - b.line);
    },
    report: store.writer(runKey(run, "report.json")),
    retry: store.writer(runKey(run, "retry.jsonl"), "application/x-ndjson"),
  });
}
