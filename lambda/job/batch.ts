// One batch of a large job, a Distributed Map child: each line checked on its own (an unreadable,
// repeated or invalid line fails alone, with its reason), the valid ones sent as one bulk request.
// What Kustomer answers is recorded per line; a failure that left nothing in doubt is thrown, for the
// state machine's retry, since sending again is then safe (CONTRACT §2.6).

import { BulkUpdateError } from "../contract/errors.ts";
import { KustomerError } from "../contract/kustomer-errors.ts";
import type { KustomerObject } from "../contract/objects/kustomer-object.ts";
import { DEFAULT_OBJECT } from "../contract/objects/registry.ts";
import { splitBatch } from "../contract/validation.ts";
import { ChangeRecorder } from "../core/change-recorder.ts";
import { type ChangeLedger, fieldHashes, reduce } from "../core/changes.ts";
import { type BulkDependencies, IN_DOUBT, submitBulkUpdate } from "../core/submit.ts";
import { allLines, type BatchFile, type BatchSummary, count, type LineOutcome, type PendingOperation, zeroCounts } from "./ledger.ts";
import type { JobLine } from "./lines.ts";

export interface BatchLines {
  first: number;
  last: number;
  lines: JobLine[];
  /** Lines whose customer an earlier line of the file already named: [line, that earlier line]. */
  duplicates?: Array<[number, number]>;
  /** With the changes table: each line's fields to send (undefined: all of them) (CONTRACT §2.7). */
  fields?: Map<number, string[] | undefined>;
  /** The job file's object; customers where absent. */
  object?: KustomerObject;
}

/** The Kustomer call, and the changes table when the job compares. */
export type BatchDependencies = BulkDependencies & { changes?: ChangeLedger };

/** The batch's file and what the child answers of it. */
export interface BatchResult {
  file: BatchFile;
  summary: BatchSummary;
}

export async function submitLines(
  { first, last, lines, duplicates = [], fields, object = DEFAULT_OBJECT }: BatchLines,
  services: BatchDependencies,
  deadlineAt: number,
): Promise<BatchResult> {
  const outcomes: LineOutcome[] = [];
  const earlierLine = new Map(duplicates);
  const parsed: Array<{ line: number; item: unknown }> = [];
  for (const { line, text, unreadable } of lines) {
    const earlier = earlierLine.get(line);
    if (unreadable) outcomes.push({ line, state: "failed", reason: unreadable });
    else {
      let item: unknown;
      try {
        item = JSON.parse(text);
        const sending = fields?.get(line);
        // Only the changed fields go out, with the id: the comparison named them when the job planned.
        if (sending && item !== null && typeof item === "object") item = reduce(item as never, sending);
      } catch {
        // JSON.parse quotes the text in its message, and the text holds personal data.
        outcomes.push({ line, state: "failed", reason: "is not JSON" });
        continue;
      }
      const id = (item as { id?: unknown } | null)?.id;
      if (earlier !== undefined)
        outcomes.push({
          line,
          ...(typeof id === "string" ? { id } : {}),
          state: "failed",
          reason: `id: the same ${object.name} as line ${earlier}`,
        });
      else parsed.push({ line, item });
    }
  }
  const { command, rejected } = splitBatch(
    parsed.map(({ item }) => item),
    object,
  );
  for (const { index, id, reason } of rejected)
    outcomes.push({ line: (parsed[index] as { line: number }).line, ...(id === undefined ? {} : { id }), state: "failed", reason });

  const pending: PendingOperation[] = [];
  const ledger =
    fields && services.changes
      ? new ChangeRecorder({ ledger: services.changes, counters: services.counters, log: services.log, deadlineAt })
      : undefined;
  if (command) {
    const refused = new Set(rejected.map(({ index }) => index));
    // Customer ids are unique within a batch (splitBatch refuses a repeat), so each names its line.
    const lineOf = new Map(
      parsed.filter((_, index) => !refused.has(index)).map(({ line, item }) => [(item as { id: string }).id.toLowerCase(), line]),
    );
    const linesFor = (customerIds: string[]) => customerIds.map((id) => lineOf.get(id.toLowerCase()) as number);
    const sending: PendingOperation = { bulkId: "", customerIds: command.body.map((update) => update.id), lines: [] };
    sending.lines = linesFor(sending.customerIds);
    ledger?.know(
      command.body.map((update) => ({
        id: update.id,
        hashes: fieldHashes(update),
        whole: fields?.get(lineOf.get(update.id.toLowerCase()) as number) === undefined,
      })),
    );
    try {
      const submitted = await submitBulkUpdate(command, services, deadlineAt);
      for (const operation of submitted.operations) {
        const lines = { lines: linesFor(operation.customerIds), customerIds: operation.customerIds };
        // Sent, and no answer says what became of it: nothing to follow.
        if (operation.status === IN_DOUBT) {
          outcomes.push(...allLines({ bulkId: "", ...lines }, "inDoubt", operation.reason ?? "no answer from Kustomer"));
          await ledger?.inDoubt(operation.customerIds);
        } else {
          const bulkId = operation.bulkId as string;
          pending.push({ bulkId, ...lines, ...(ledger ? { hashes: await ledger.pending(bulkId, operation.customerIds) } : {}) });
        }
      }
    } catch (error) {
      if (!(error instanceof BulkUpdateError)) throw error;
      const inDoubt = error instanceof KustomerError && error.inDoubt;
      // Nothing in doubt and worth another try: the state machine's retry sends it again, safely.
      if (error.retryable && !inDoubt) throw error;
      outcomes.push(...allLines(sending, inDoubt ? "inDoubt" : "failed", `${error.name}: ${error.message}`));
      if (inDoubt) await ledger?.inDoubt(sending.customerIds);
    }
  }
  outcomes.sort((a, b) => a.line - b.line);
  const summary: BatchSummary = { first, ...zeroCounts(), sent: 0, pending: [] };
  for (const outcome of outcomes) count(summary, outcome.state);
  const acceptedAt = Date.now();
  for (const operation of pending) {
    summary.sent += operation.lines.length;
    summary.pending.push({ bulkId: operation.bulkId, items: operation.lines.length, acceptedAt });
  }
  return { file: { first, last, outcomes, pending }, summary };
}
