// A large job's steps (CONTRACT §7), the same on AWS (lambda/job-handler.ts, run by the job state
// machine) and on this machine (local/job.ts), over a JobStore:
//   plan    - reads the file once: batches of 100 lines (byte ranges), and repeated customers;
//   lines   - one batch, a Distributed Map child: its lines checked and sent, its file written;
//   collect - the children's results, through the ChildResults port, into the run's ledger;
//   follow  - reads the operations not complete yet, settling each batch's file (repeated);
//   report  - the report and the retry file, streamed in file order.
// No step holds a line's data for the whole job: the ledger keeps one entry a batch of 100 lines.
import { KustomerError } from "../contract/errors.ts";
import type { OperationStatus } from "../contract/results.ts";
import type { BulkDependencies } from "../core/submit.ts";
import { verdictOf } from "../core/verdict.ts";
import type { KustomerApi } from "../kustomer/client.ts";
import { getBulkStatuses } from "../kustomer/status.ts";
import type { Log } from "../platform/observability.ts";
import { submitLines } from "./batch.ts";
import type { ChildResults } from "./children.ts";
import { CustomerLines } from "./customer-lines.ts";
import {
  accountFor,
  allLines,
  type BatchFile,
  type BatchSummary,
  count,
  type Ledger,
  type LedgerBatch,
  type LineState,
  type StateCounts,
  totalsOf,
  zeroCounts,
} from "./ledger.ts";
import { type JobLine, type LineRange, nonBlank, type ReadLine, rangesOf } from "./lines.ts";
import { type ReportSummary, writeReport } from "./report.ts";
import { type JobStore, runKey } from "./store.ts";

/** A Distributed Map item: one child's whole request. */
export interface BatchItem extends LineRange {
  step: "lines";
  bucket: string;
  key: string;
  run: string;
  count: number;
  /** The job file's version when planned: every read names it. */
  version?: string;
  duplicates?: Array<[number, number]>;
}

export interface Plan {
  lines: number;
  batches: number;
  batchesKey: string;
  mapResultsPrefix: string;
}

/** Operation statuses Kustomer may still move on from. */

const batchKey = (run: string, first: number) => runKey(run, `batches/${first}.json`);

/** A batch's file as a child writes it, with what the child answered, and each settled operation's counts. */
type RecordedBatch = BatchFile & { summary: BatchSummary; settled?: Record<string, StateCounts> };
const ledgerKey = (run: string) => runKey(run, "ledger.json");

export async function plan(store: JobStore, key: string, run: string): Promise<Plan> {
  const customers = new CustomerLines();
  const version = await store.version(key);
  const items = store.writer(runKey(run, "batches.json"));
  let batches = 0;
  let lines = 0;
  let duplicates: Array<[number, number]> = [];
  // Each line's customer is noted as the ranges are cut, in the same single pass over the file.
  async function* noted(source: AsyncIterable<ReadLine>) {
    for await (const read of source) {
      if (!read.unreadable && read.text.trim() !== "") {
        let id: unknown;
        try {
          id = (JSON.parse(read.text) as { id?: unknown } | null)?.id;
        } catch {
          // Not JSON: the child says so.
        }
        const earlier = typeof id === "string" ? customers.firstLineOf(id.toLowerCase(), read.line) : undefined;
        if (earlier !== undefined) duplicates.push([read.line, earlier]);
      }
      yield read;
    }
  }
  await items.write("[");
  for await (const { count: lineCount, ...range } of rangesOf(noted(store.lines(key, undefined, version)))) {
    const mine = duplicates.filter(([line]) => line <= range.last);
    duplicates = duplicates.filter(([line]) => line > range.last);
    const item: BatchItem = {
      step: "lines",
      bucket: store.name,
      key,
      run,
      ...range,
      count: lineCount,
      version,
      ...(mine.length ? { duplicates: mine } : {}),
    };
    await items.write(`${batches ? "," : ""}\n${JSON.stringify(item)}`);
    batches += 1;
    lines += lineCount;
  }
  await items.write("\n]\n");
  await items.end();
  return { lines, batches, batchesKey: runKey(run, "batches.json"), mapResultsPrefix: runKey(run, "map") };
}

/** One child: its lines sent once. A retried child whose batch was already recorded sends nothing again. */
export async function lines(store: JobStore, item: BatchItem, services: BulkDependencies, deadlineAt: number) {
  if (await store.exists(batchKey(item.run, item.first)))
    return (await store.getJson<RecordedBatch>(batchKey(item.run, item.first))).summary;
  const read: JobLine[] = [];
  for await (const line of nonBlank(store.lines(item.key, item, item.version))) read.push(line);
  const { file, summary } = await submitLines(
    { first: item.first, last: item.last, lines: read, duplicates: item.duplicates },
    services,
    deadlineAt,
  );
  await store.put(batchKey(item.run, item.first), JSON.stringify({ ...file, summary }));
  return summary;
}

/** Our own errors are thrown only when nothing was left in doubt; anything else may have stopped mid-request. */
const CONTRACT_ERRORS = /^(Kustomer\w*Error|SecretUnavailableError|ConfigurationError|ValidationError)$/;
/** Errors a child meets before it sends anything. */
const BEFORE_SENDING = /^JobFileChangedError$/;

/** Lambda hands Step Functions `{errorType, errorMessage, trace}` as the cause: keep the message. */
function reasonOf(error: string | undefined, cause: string | undefined): string {
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

/**
 * Every planned batch gets its entry: its own record (a child that finished, or was stopped after
 * recording), a failed child's lines in one state, unsent only for a batch the map says it never
 * started (PENDING, or no item read at all), and in doubt for a batch of which nothing is known.
 */
export async function collect(store: JobStore, run: string, children: ChildResults, mapFailed?: MapFailure): Promise<{ pending: number }> {
  const planned = await store.getJson<BatchItem[]>(runKey(run, "batches.json"));
  // The batches that recorded themselves, from one listing rather than a read each.
  const recorded = new Set<number>();
  for await (const key of store.list(runKey(run, "batches/"))) recorded.add(Number(/\/(\d+)\.json$/.exec(key)?.[1]));
  const entries = new Map<number, LedgerBatch>();
  const neverStarted = new Set<number>();
  const entryOf = (item: BatchItem): LedgerBatch => ({
    first: item.first,
    last: item.last,
    count: item.count,
    ...zeroCounts(),
    sent: 0,
    pending: [],
  });
  const byFirst = new Map(planned.map((item) => [item.first, item]));
  for await (const child of children) {
    const item = byFirst.get(child.first);
    if (!item) continue;
    if (child.status === "SUCCEEDED" && child.output) entries.set(item.first, { ...entryOf(item), ...child.output, first: item.first });
    else if (child.status === "PENDING") neverStarted.add(item.first);
    else if (!recorded.has(item.first)) {
      // A child that failed on its own error left nothing in doubt; one stopped from outside may have.
      const state: LineState = BEFORE_SENDING.test(child.error ?? "")
        ? "unsent"
        : CONTRACT_ERRORS.test(child.error ?? "")
          ? "failed"
          : "inDoubt";
      const entry = entryOf(item);
      count(entry, state, item.count);
      entries.set(item.first, { ...entry, whole: { state, reason: reasonOf(child.error, child.cause) } });
    }
  }
  const why = mapFailed ? ` (${reasonOf(mapFailed.Error, mapFailed.Cause)})` : "";
  const nothingRan = mapFailed?.Error === "States.ItemReaderFailed";
  const ledger: Ledger = { lines: 0, batches: [], ...(planned[0]?.version ? { version: planned[0].version } : {}) };
  for (const item of planned) {
    let entry = entries.get(item.first);
    // A child stopped after recording its batch (a timeout, say) left its own account: that is the truth.
    if (!entry && recorded.has(item.first))
      entry = { ...entryOf(item), ...(await store.getJson<RecordedBatch>(batchKey(run, item.first))).summary, first: item.first };
    if (!entry) {
      entry = entryOf(item);
      const state: LineState = neverStarted.has(item.first) || nothingRan ? "unsent" : "inDoubt";
      count(entry, state, item.count);
      entry.whole = {
        state,
        reason:
          state === "unsent"
            ? `not sent: the job stopped before this line's batch ran${why}`
            : `the job stopped with no record of this line's batch${why}; it may have been sent`,
      };
    }
    ledger.lines += item.count;
    ledger.batches.push(entry);
  }
  await store.put(ledgerKey(run), JSON.stringify(ledger));
  return { pending: pendingOf(ledger) };
}

const pendingOf = (ledger: Ledger) => ledger.batches.reduce((sum, batch) => sum + batch.pending.length, 0);

export interface FollowOptions {
  client: KustomerApi;
  concurrency: number;
  log: Log;
  deadlineAt: number;
  /** How long a bulk id this job recorded may read 404 before its lines are in doubt (CONTRACT §2.6). */
  notFoundGraceMs: number;
  now?: () => number;
}

/** What a status read decided of an operation: Kustomer's account of it, or all its lines in one state. */
type Verdict = { status: OperationStatus } | { state: LineState; reason: string };

/**
 * Settles a batch's decided operations: their lines in its file, with each operation's counts kept
 * there too, then the counts in its ledger entry. A call cut off between the two finds the counts
 * in the file and does not lose or repeat them.
 */
async function settle(store: JobStore, run: string, batch: LedgerBatch, decided: Map<string, Verdict>): Promise<void> {
  const file = await store.getJson<RecordedBatch>(batchKey(run, batch.first));
  file.settled ??= {};
  for (const operation of file.pending.filter(({ bulkId }) => decided.has(bulkId))) {
    const verdict = decided.get(operation.bulkId) as Verdict;
    const outcomes =
      "status" in verdict ? accountFor(operation, verdict.status).outcomes : allLines(operation, verdict.state, verdict.reason);
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
      ({ operations: statuses } = await getBulkStatuses(
        oldest.map(({ operation }) => operation.bulkId),
        options.client,
        stopAt,
        options.concurrency,
      ));
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
    await Promise.all([...decided].map(([batch, verdicts]) => settle(store, run, batch, verdicts)));
  }
  await store.put(ledgerKey(run), JSON.stringify(ledger));
  return { pending: pendingOf(ledger) };
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
    totals: { lines: ledger.lines, ...totalsOf(ledger), unchanged: 0 },
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
