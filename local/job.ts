// `npm run job -- updates.jsonl`: a large job on this machine, run by the same steps as the stack's job
// (lambda/job/steps.ts: plan, lines, collect, follow, report) over a folder that stands for the job
// bucket (<file>.job/, removed at the end). This file is only the driver: it runs the batches a few at
// a time as the Distributed Map would, hands Collect their results, and repeats Follow until every
// operation is settled or the status timeout passes. It writes <file>.report.json and <file>.retry.jsonl.
// First: Powertools reads its settings as the job's modules load.
import "./job-quiet.ts";
import { randomUUID } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, rename, rm, stat, symlink } from "node:fs/promises";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { BulkUpdateError } from "../lambda/contract/errors.ts";
import type { BatchDependencies } from "../lambda/job/batch.ts";
import type { ChildResult } from "../lambda/job/children.ts";
import { type FollowOptions, follow } from "../lambda/job/follow.ts";
import { type BatchSummary, type Ledger, totalsOf } from "../lambda/job/ledger.ts";
import type { ReportSummary } from "../lambda/job/report.ts";
import { report } from "../lambda/job/report.ts";
import { type BatchItem, collect, lines, plan } from "../lambda/job/steps.ts";
import { onRateLimitWait } from "../lambda/platform/observability.ts";
import { fail, prepareLocalEnvironment } from "./environment.ts";
import { JobFolder } from "./job-folder.ts";
import { type JobProgress, progressDisplay } from "./job-progress.ts";

export type JobServices = BatchDependencies & Pick<FollowOptions, "notFoundGraceMs">;

export interface JobOptions {
  services: JobServices;
  /** The first wait before a batch that failed retryably runs again; it doubles each time. */
  retryDelayMs?: number;
  /** Batches at once, as the job's Distributed Map's MaxConcurrency. */
  concurrency: number;
  onProgress?: (progress: JobProgress) => void;
  /** How often the status of what was sent is read, and for how long at most. */
  pollMs?: number;
  statusTimeoutMs?: number;
  /** With the changes table: send every line, and refresh every hash (CONTRACT §2.7). */
  fullResync?: boolean;
}

export interface LocalReport extends ReportSummary {
  reportFile: string;
  retryFile: string;
}

/** A batch that failed retryably is run again, as the state machine's Retry does: 1 s doubling, 5 more times. */
const RETRIES = 5;
/** Time each Follow call spends reading before the driver waits `pollMs`. */
const FOLLOW_BUDGET_MS = 60_000;
/** A child's time, as the stack's job function has it. */
const STEP_TIMEOUT_MS = 15 * 60 * 1000;

/** The job file, or a one-line reason it cannot be one. */
export class JobFileError extends Error {
  override readonly name = "JobFileError";
}

async function checkedFile(file: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    throw new JobFileError(`npm run job: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`, { cause: error });
  }
  if (!info.isFile()) throw new JobFileError(`npm run job: ${file} is not a file`);
}

/** One batch, retried while it fails retryably; its result as the map's ResultWriter would record it. */
async function runBatch(folder: JobFolder, item: BatchItem, services: JobServices, retryDelayMs: number): Promise<ChildResult> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const output = (await lines(folder, item, services, Date.now() + STEP_TIMEOUT_MS)) as BatchSummary;
      return { first: item.first, status: "SUCCEEDED", output };
    } catch (error) {
      const retryable = error instanceof BulkUpdateError && error.retryable;
      if (retryable && attempt < RETRIES) {
        await sleep(retryDelayMs * 2 ** attempt);
        continue;
      }
      const { name, message } = error as Error;
      return { first: item.first, status: "FAILED", error: name, cause: JSON.stringify({ errorType: name, errorMessage: message }) };
    }
  }
}

export async function runJob(file: string, options: JobOptions): Promise<LocalReport> {
  await checkedFile(file);
  const started = Date.now();
  const folder = new JobFolder(`${file}.job`);
  await rm(folder.name, { recursive: true, force: true });
  await mkdir(folder.name, { recursive: true });
  const key = "job.jsonl";
  await symlink(resolve(file), `${folder.name}/${key}`);
  const run = randomUUID();
  const progress: JobProgress = { lines: 0, sent: 0, done: 0, elapsedMs: 0 };
  const show = () => options.onProgress?.({ ...progress, elapsedMs: Date.now() - started });
  const stopListening = onRateLimitWait((ms) => {
    progress.waitingUntil = Date.now() + ms;
    show();
  });
  try {
    const { services } = options;
    const planned = await plan(
      folder,
      key,
      run,
      services.changes && {
        ledger: services.changes,
        fullResync: options.fullResync ?? false,
        deadlineAt: Date.now() + STEP_TIMEOUT_MS,
        log: services.log,
        counters: services.counters,
      },
    );
    progress.lines = planned.lines;
    progress.done = planned.unchanged;
    show();

    // The map: batches `concurrency` at a time, each result kept for Collect (a few numbers a batch).
    const items = await folder.getJson<BatchItem[]>(planned.batchesKey);
    const results: ChildResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++] as BatchItem;
        const result = await runBatch(folder, item, options.services, options.retryDelayMs ?? 1_000);
        results.push(result);
        if (result.output) {
          progress.sent += result.output.sent;
          progress.done += result.output.failed + result.output.inDoubt + result.output.unsent;
        } else progress.done += item.count;
        show();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    let { pending } = await collect(folder, run, results);

    // Follow, as the state machine's loop does, until settled or the status timeout.
    const statusTimeoutMs = options.statusTimeoutMs ?? 6 * 60 * 60 * 1000;
    const giveUpAt = Date.now() + statusTimeoutMs;
    try {
      while (pending > 0 && Date.now() < giveUpAt) {
        await sleep(options.pollMs ?? 1_000);
        const budgetMs = Math.min(FOLLOW_BUDGET_MS, giveUpAt - Date.now());
        ({ pending } = await follow(folder, run, { ...options.services, deadlineAt: Date.now() + STEP_TIMEOUT_MS }, budgetMs));
        const { applied, failed, inDoubt, unsent, unchanged } = totalsOf(await folder.getJson<Ledger>(`results/${run}/ledger.json`));
        progress.done = applied + failed + inDoubt + unsent + unchanged;
        show();
      }
    } catch (error) {
      // As the state machine's Catch on Follow: the report says what was recorded, the rest in doubt.
      options.services.log.warn("following stopped; reporting what was recorded", { error: (error as Error).name });
    }

    const summary = await report(folder, key, run, Math.max(1, Math.round(statusTimeoutMs / 60_000)));
    const reportFile = `${file}.report.json`;
    const retryFile = `${file}.retry.jsonl`;
    await rename(summary.report, reportFile);
    await rename(summary.retry, retryFile);
    progress.done = progress.lines;
    return { ...summary, report: reportFile, retry: retryFile, reportFile, retryFile };
  } finally {
    stopListening();
    await rm(folder.name, { recursive: true, force: true });
  }
}

async function main() {
  const fullResync = process.argv.includes("--full-resync");
  const argument =
    process.argv.slice(2).find((given) => given !== "--full-resync") ??
    fail("usage: npm run job -- <updates.jsonl> [--full-resync]   (one customer update per line)", 2);
  // npm runs scripts from the repository: a relative path is the user's own, from where they typed it.
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), argument);
  const environment = await prepareLocalEnvironment({ sandboxPort: 0 });
  const { servicesFor } = await import("../lambda/composition/services.ts");
  const started = Date.now();
  const display = progressDisplay();
  let last: JobProgress = { lines: 0, sent: 0, done: 0, elapsedMs: 0 };
  try {
    const summary = await runJob(file, {
      services: servicesFor(process.env),
      concurrency: Number(process.env.JOB_CONCURRENCY ?? 4),
      pollMs: Number(process.env.JOB_POLL_MS ?? 1_000),
      statusTimeoutMs: Number(process.env.JOB_STATUS_TIMEOUT_MINUTES ?? 360) * 60_000,
      fullResync,
      onProgress: (progress) => {
        last = progress;
        display.update(progress);
      },
    });
    display.finish({ ...last, done: summary.lines, lines: summary.lines, elapsedMs: Date.now() - started, waitingUntil: undefined });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const peakMb = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    const { lines: total, sent, applied, failed, inDoubt, unsent, unchanged } = summary;
    const skipped = process.env.CHANGES_TABLE_NAME ? `, ${unchanged} unchanged (not sent)` : "";
    console.log(
      `${total} lines: ${sent} sent, ${applied} applied, ${failed} failed, ${inDoubt} in doubt, ${unsent} not sent${skipped}, in ${seconds} s (peak memory ${peakMb} MB). Report: ${summary.reportFile}`,
    );
    const toRetry = failed + inDoubt + unsent;
    if (toRetry > 0)
      console.log(
        `The ${toRetry} lines not applied are in ${summary.retryFile}: fix the failed ones and run npm run job -- ${summary.retryFile}`,
      );
    process.exitCode = toRetry > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof JobFileError) fail(error.message, 2);
    throw error;
  } finally {
    await environment.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
