// The job's report and retry file (CONTRACT §7), from one pass over the file: every failed line is in
// the report with its number, customer id and reason, and in the retry file verbatim, so the user can
// fix and re-run just those lines.
import type { LineFailure } from "./batch.ts";
import type { JobLedger } from "./ledger.ts";
import type { JobLine } from "./lines.ts";

export interface JobReport {
  lines: number;
  sent: number;
  applied: number;
  failed: number;
  failures: LineFailure[];
}

/** A failed line's customer id, from the line itself when its batch failed before reading it. */
function idOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

export async function writeReport(ledger: JobLedger, lines: AsyncIterable<JobLine>, retry: (text: string) => void | Promise<void>): Promise<JobReport> {
  const { state } = ledger;
  const byLine = new Map(state.failures.map((failure) => [failure.line, failure]));
  const ranges = [...state.failedRanges].sort((a, b) => a.first - b.first);
  const failures: LineFailure[] = [];
  let count = 0;
  for await (const { line, text } of lines) {
    count += 1;
    const own = byLine.get(line);
    const range = own ? undefined : ranges.find((candidate) => candidate.first <= line && line <= candidate.last);
    if (!own && !range) continue;
    const id = own?.id ?? idOf(text);
    failures.push({ line, ...(id === undefined ? {} : { id }), reason: own?.reason ?? (range as { reason: string }).reason });
    await retry(text);
  }
  return { lines: Math.max(state.lines, count), sent: state.sent, applied: state.applied, failed: failures.length, failures };
}
