// A large job's steps (CONTRACT §7), the same on AWS (lambda/job-handler.ts, run by the job state
// machine) and on this machine (local/job.ts), over a JobStore:
//   plan    - reads the file once: batches of 100 lines to send (byte ranges), repeated customers,
//             and, with the changes table, what changed (compare.ts);
//   lines   - one batch, a Distributed Map child: its lines checked and sent, its file written;
//   collect - the children's results, through the ChildResults port, into the run's ledger;
//   follow  - (follow.ts) reads the operations not complete yet, settling each batch's file (repeated);
//   report  - (report.ts) the report and the retry file, streamed in file order.
// No step holds a line's data for the whole job: the ledger keeps one entry a batch of 100 lines.
import { objectOfJobKey } from "../contract/objects/registry.ts";
import { type BatchDependencies, submitLines } from "./batch.ts";
import type { ChildResults } from "./children.ts";
import { type ComparedLine, type CompareOptions, compared, type LineChange } from "./compare.ts";
import { CustomerLines } from "./customer-lines.ts";
import { count, type Ledger, type LedgerBatch, type LineState, zeroCounts } from "./ledger.ts";
import { type JobLine, type LineRange, nonBlank, type ReadLine, rangesOf } from "./lines.ts";
import { batchKey, ledgerKey, type MapFailure, pendingOf, type RecordedBatch, reasonOf } from "./run-files.ts";
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
  /** With the changes table: the lines of the range to send (the rest are unchanged), whole or in part. */
  changes?: LineChange[];
}

export interface Plan {
  lines: number;
  batches: number;
  /** Lines not sent because Kustomer already holds their values (CONTRACT §2.7). */
  unchanged: number;
  batchesKey: string;
  mapResultsPrefix: string;
}

export async function plan(store: JobStore, key: string, run: string, options?: CompareOptions): Promise<Plan> {
  const object = objectOfJobKey(key);
  const comparing = options && { ...options, object, ledger: options.ledger.of(object) };
  const customers = new CustomerLines();
  const version = await store.version(key);
  const items = store.writer(runKey(run, "batches.json"));
  let batches = 0;
  let lines = 0;
  let duplicates: Array<[number, number]> = [];
  const repeated = new Set<number>();
  let changes: LineChange[] = [];
  let unchanged = 0;
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
        if (earlier !== undefined) {
          duplicates.push([read.line, earlier]);
          if (comparing) repeated.add(read.line);
        }
      }
      yield read;
    }
  }
  async function* planned(source: AsyncIterable<ReadLine>): AsyncGenerator<ReadLine> {
    if (!comparing) return yield* source;
    for await (const read of compared(source, (line) => repeated.delete(line), comparing)) {
      if (read.change) changes.push(read.change);
      yield read;
    }
  }
  const sends = comparing ? (read: ReadLine) => (read as ComparedLine).change !== undefined : undefined;
  await items.write("[");
  for await (const { count: lineCount, ...range } of rangesOf(planned(noted(store.lines(key, undefined, version))), sends)) {
    const mine = duplicates.filter(([line]) => line <= range.last);
    duplicates = duplicates.filter(([line]) => line > range.last);
    const sending = changes.filter(([line]) => line <= range.last);
    changes = changes.filter(([line]) => line > range.last);
    if (comparing) unchanged += lineCount - sending.length;
    const item: BatchItem = {
      step: "lines",
      bucket: store.name,
      key,
      run,
      ...range,
      count: lineCount,
      version,
      ...(mine.length ? { duplicates: mine } : {}),
      ...(comparing ? { changes: sending } : {}),
    };
    await items.write(`${batches ? "," : ""}\n${JSON.stringify(item)}`);
    batches += 1;
    lines += lineCount;
  }
  await items.write("\n]\n");
  await items.end();
  return { lines, batches, unchanged, batchesKey: runKey(run, "batches.json"), mapResultsPrefix: runKey(run, "map") };
}

/**
 * One child: its lines sent once. A retried child whose batch was already recorded sends nothing again.
 * With the changes table, only the lines its item names are read and sent, with their changed fields.
 */
export async function lines(store: JobStore, item: BatchItem, services: BatchDependencies, deadlineAt: number) {
  if (await store.exists(batchKey(item.run, item.first)))
    return (await store.getJson<RecordedBatch>(batchKey(item.run, item.first))).summary;
  const fields = item.changes ? new Map(item.changes.map(([line, only]) => [line, only])) : undefined;
  const read: JobLine[] = [];
  if (!fields || fields.size > 0)
    for await (const line of nonBlank(store.lines(item.key, item, item.version))) if (!fields || fields.has(line.line)) read.push(line);
  const object = objectOfJobKey(item.key);
  const { file, summary } = await submitLines(
    { first: item.first, last: item.last, lines: read, duplicates: item.duplicates, object, ...(fields ? { fields } : {}) },
    { ...services, changes: services.changes?.of(object) },
    deadlineAt,
  );
  if (fields) summary.unchanged = item.count - fields.size;
  await store.put(batchKey(item.run, item.first), JSON.stringify({ ...file, summary }));
  return summary;
}

/** Our own errors are thrown only when nothing was left in doubt; anything else may have stopped mid-request. */
const CONTRACT_ERRORS = /^(Kustomer\w*Error|SecretUnavailableError|ConfigurationError|ValidationError)$/;
/** Errors a child meets before it sends anything. */
const BEFORE_SENDING = /^JobFileChangedError$/;

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
    ...(item.changes ? { unchanged: item.count - item.changes.length } : {}),
  });
  /** A batch's lines in one state: with the changes table, only those it was to send. */
  const wholeOf = (item: BatchItem, whole: LedgerBatch["whole"]) => ({
    whole,
    ...(item.changes ? { sends: item.changes.map(([line]) => line) } : {}),
  });
  /** The lines a batch was to send: all of them, or only the changed ones. */
  const sendsOf = (item: BatchItem) => item.changes?.length ?? item.count;
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
      count(entry, state, sendsOf(item));
      entries.set(item.first, { ...entry, ...wholeOf(item, { state, reason: reasonOf(child.error, child.cause) }) });
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
      count(entry, state, sendsOf(item));
      Object.assign(
        entry,
        wholeOf(item, {
          state,
          reason:
            state === "unsent"
              ? `not sent: the job stopped before this line's batch ran${why}`
              : `the job stopped with no record of this line's batch${why}; it may have been sent`,
        }),
      );
    }
    ledger.lines += item.count;
    ledger.batches.push(entry);
  }
  await store.put(ledgerKey(run), JSON.stringify(ledger));
  return { pending: pendingOf(ledger) };
}
