// Following a job's bulk operations (CONTRACT §7): read the oldest still pending, settle those
// Kustomer has decided, in each batch's file first and then in the ledger, so a call cut off between
// the two loses and repeats nothing. The state machine's loop (or the local run's) calls it until
// nothing is pending or the status timeout passes.
import { KustomerError } from "../contract/kustomer-errors.ts";
import type { OperationStatus } from "../contract/results.ts";
import type { ChangeLedger } from "../core/changes.ts";
import { keepChanges } from "../core/keep-changes.ts";
import type { BulkApi, Counters, Log } from "../core/ports.ts";
import { verdictOf } from "../core/verdict.ts";
import {
  accountFor,
  allLines,
  count,
  type Ledger,
  type LedgerBatch,
  type LineOutcome,
  type LineState,
  type PendingOperation,
  zeroCounts,
} from "./ledger.ts";
import { batchKey, ledgerKey, pendingOf, type RecordedBatch } from "./run-files.ts";
import type { JobStore } from "./store.ts";

export interface FollowOptions {
  kustomer: BulkApi;
  concurrency: number;
  log: Log;
  deadlineAt: number;
  /** How long a bulk id this job recorded may read 404 before its lines are in doubt (CONTRACT §2.6). */
  notFoundGraceMs: number;
  now?: () => number;
  /** With the changes table: what Kustomer applied becomes current, what it failed or left in doubt does not. */
  changes?: ChangeLedger;
  counters?: Counters;
}

/** What a status read decided of an operation: Kustomer's account of it, or all its lines in one state. */
type Verdict = { status: OperationStatus } | { state: LineState; reason: string };

/**
 * Settles a batch's decided operations: their lines in its file, with each operation's counts kept
 * there too, then the counts in its ledger entry. A call cut off between the two finds the counts
 * in the file and does not lose or repeat them.
 */
async function settle(
  store: JobStore,
  run: string,
  batch: LedgerBatch,
  decided: Map<string, Verdict>,
  options: FollowOptions,
): Promise<void> {
  const file = await store.getJson<RecordedBatch>(batchKey(run, batch.first));
  file.settled ??= {};
  for (const operation of file.pending.filter(({ bulkId }) => decided.has(bulkId))) {
    const verdict = decided.get(operation.bulkId) as Verdict;
    const outcomes =
      "status" in verdict ? accountFor(operation, verdict.status).outcomes : allLines(operation, verdict.state, verdict.reason);
    if (operation.hashes) await keepOperation(operation, outcomes, options);
    file.outcomes.push(...outcomes);
    const counts = zeroCounts();
    for (const outcome of outcomes) count(counts, outcome.state);
    count(counts, "applied", operation.lines.length - outcomes.length);
    file.settled[operation.bulkId] = counts;
  }
  file.pending = file.pending.filter(({ bulkId }) => !decided.has(bulkId));
  file.outcomes.sort((a, b) => a.line - b.line);
  await store.put(batchKey(run, batch.first), JSON.stringify(file));
  for (const bulkId of decided.keys()) {
    const counts = file.settled[bulkId];
    if (counts) for (const state of ["applied", "failed", "inDoubt", "unsent"] as const) count(batch, state, counts[state]);
  }
  batch.pending = batch.pending.filter(({ bulkId }) => !decided.has(bulkId));
}

/**
 * Reads the oldest operations still pending, for up to `budgetMs`; stops at one still running, since
 * Kustomer works through them in order. A status read that fails is tried again on the next call: the
 * state machine's loop (or the local run's) goes on until the status timeout.
 */
export async function follow(store: JobStore, run: string, options: FollowOptions, budgetMs: number): Promise<{ pending: number }> {
  const now = options.now ?? Date.now;
  const ledger = await store.getJson<Ledger>(ledgerKey(run));
  const stopAt = Math.min(options.deadlineAt, now() + budgetMs);
  for (let running = false; !running && pendingOf(ledger) > 0 && now() < stopAt; ) {
    const oldest = ledger.batches.flatMap((batch) => batch.pending.map((operation) => ({ batch, operation }))).slice(0, 100);
    let statuses: OperationStatus[];
    try {
      statuses = (
        await options.kustomer.read(
          oldest.map(({ operation }) => operation.bulkId),
          stopAt,
          options.concurrency,
        )
      ).map(({ status }) => status);
    } catch (error) {
      if (!(error instanceof KustomerError) || !error.retryable) throw error;
      options.log.warn("could not read the job's bulk operations: reading them again on the next round", {
        error: error.name,
        kustomerStatus: error.kustomerStatus,
      });
      break;
    }
    const decided = new Map<LedgerBatch, Map<string, Verdict>>();
    const decide = (batch: LedgerBatch, bulkId: string, verdict: Verdict) =>
      decided.set(batch, (decided.get(batch) ?? new Map()).set(bulkId, verdict));
    statuses.forEach((status, index) => {
      const { batch, operation } = oldest[index] as (typeof oldest)[number];
      const verdict = verdictOf(
        status.status,
        { bulkId: operation.bulkId, recordedAt: operation.acceptedAt, previous: operation.lastStatus },
        now(),
        options.notFoundGraceMs,
      );
      operation.lastStatus = status.status;
      if (verdict.kind === "complete") decide(batch, operation.bulkId, { status });
      else if (verdict.kind === "lost") decide(batch, operation.bulkId, { state: "inDoubt", reason: verdict.reason });
      else running = true;
    });
    await Promise.all([...decided].map(([batch, verdicts]) => settle(store, run, batch, verdicts, options)));
  }
  await store.put(ledgerKey(run), JSON.stringify(ledger));
  return { pending: pendingOf(ledger) };
}

/** The changes table's part: written before the batch's file, so a call cut off between the two writes again. */
async function keepOperation(operation: PendingOperation, outcomes: LineOutcome[], options: FollowOptions): Promise<void> {
  if (!options.changes) return;
  const stateOf = new Map(outcomes.map((outcome) => [outcome.line, outcome.state]));
  const customers = operation.customerIds.map((id, position) => {
    const state = stateOf.get(operation.lines[position] as number) ?? "applied";
    // A follow-up never leaves a sent customer unsent; were it to, its fields are dropped as in doubt.
    return { id, hashes: operation.hashes?.[position] ?? {}, state: state === "unsent" ? "inDoubt" : state } as const;
  });
  await keepChanges(operation.bulkId, customers, { ...options, ledger: options.changes });
}
