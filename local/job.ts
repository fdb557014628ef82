// `npm run job -- updates.jsonl`: a large job on this machine, the way the stack's job runs it. The file
// is streamed (constant memory); each batch of 100 lines goes to the real handler, a few at a time, each
// line checked on its own; then every bulk operation is followed until Kustomer has applied it. The
// report names every failed line with its reason, and the retry file holds exactly those lines.
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import type { JobBatchResult } from "../lambda/job/batch.ts";
import { JobLedger } from "../lambda/job/ledger.ts";
import { LINES_PER_BATCH, nonBlank, readLines, type JobLine } from "../lambda/job/lines.ts";
import { writeReport, type JobReport } from "../lambda/job/report.ts";
import type { StatusResult } from "../lambda/results.ts";
import { fileArgument, FUNCTION_TIMEOUT_MS, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { lambdaContext } from "./gateway.ts";

export interface JobProgress {
  /** Lines whose result is final: refused, failed, or applied by Kustomer. */
  items: number;
  /** Bytes of the file those lines take: what the bar and the percentage measure. */
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface JobOptions {
  handler: (event: unknown, context: Context) => Promise<unknown>;
  /** Invocations at once, as the job's Distributed Map's MaxConcurrency. */
  concurrency: number;
  onProgress?: (progress: JobProgress) => void;
  /** Where the failed lines go, verbatim; `<file>.retry.jsonl` by default. */
  retryFile?: string;
  /** How often the status of what was sent is read, and for how long at most. */
  pollMs?: number;
  statusTimeoutMs?: number;
}

const fileLines = (file: string) => readLines(createReadStream(file));

interface Batch {
  lines: number;
  bytes: number;
  /** Operations Kustomer has not completed yet. */
  waitingFor: Set<string>;
}

export async function runJob(file: string, options: JobOptions): Promise<JobReport> {
  const ledger = new JobLedger();
  const totalBytes = (await stat(file)).size;
  const started = Date.now();
  const invoke = (event: unknown) => options.handler(event, lambdaContext(randomUUID(), FUNCTION_TIMEOUT_MS));
  let doneLines = 0;
  let doneBytes = 0;
  const progress = () =>
    options.onProgress?.({ items: doneLines, bytes: Math.min(doneBytes, totalBytes), totalBytes, elapsedMs: Date.now() - started });
  const finish = (batch: Batch) => {
    doneLines += batch.lines;
    doneBytes += batch.bytes;
    progress();
  };
  const batchOf = new Map<string, Batch>();

  // 1. Send: batches of 100 lines, `concurrency` at a time, read no faster than they are answered.
  const inFlight = new Set<Promise<void>>();
  const send = (lines: JobLine[], bytes: number) => {
    const batch: Batch = { lines: lines.length, bytes, waitingFor: new Set() };
    const task = invoke({ action: "lines", lines })
      .then(
        (answer) => {
          const result = answer as JobBatchResult;
          ledger.addBatch(result);
          for (const { bulkId } of result.operations) {
            batch.waitingFor.add(bulkId);
            batchOf.set(bulkId, batch);
          }
        },
        (error: Error) => ledger.failRange({ first: lines[0]!.line, last: lines.at(-1)!.line }, `${error.name}: ${error.message}`),
      )
      .then(() => {
        if (batch.waitingFor.size === 0) finish(batch);
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };
  let batch: JobLine[] = [];
  let batchBytes = 0;
  for await (const { line, text, bytes } of fileLines(file)) {
    // Blank lines are nobody's: done as soon as they are read.
    if (text.trim() === "") {
      doneBytes += bytes;
      continue;
    }
    ledger.state.lines += 1;
    batch.push({ line, text });
    batchBytes += bytes;
    if (batch.length === LINES_PER_BATCH) {
      send(batch, batchBytes);
      batch = [];
      batchBytes = 0;
    }
    // Back-pressure: memory stays flat whatever the file's size.
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }
  if (batch.length > 0) send(batch, batchBytes);
  while (inFlight.size > 0) await Promise.all(inFlight);

  // 2. Follow every operation until Kustomer has applied it. Kustomer works through them in order, so
  // each round reads the oldest first and stops at the first one still running.
  const pollMs = options.pollMs ?? 1_000;
  const giveUpAt = Date.now() + (options.statusTimeoutMs ?? 6 * 60 * 60 * 1000);
  while (ledger.state.pending.length > 0 && Date.now() < giveUpAt) {
    for (let running = false; !running && ledger.state.pending.length > 0; ) {
      const { operations } = (await invoke({ action: "status", bulkIds: ledger.pendingBulkIds.slice(0, 100) })) as StatusResult;
      for (const operation of operations) {
        if (!ledger.settle(operation)) {
          running = true;
          continue;
        }
        const settled = batchOf.get(operation.bulkId) as Batch;
        settled.waitingFor.delete(operation.bulkId);
        if (settled.waitingFor.size === 0) finish(settled);
      }
    }
    if (ledger.state.pending.length > 0) await sleep(pollMs);
  }
  const minutes = Math.round((options.statusTimeoutMs ?? 6 * 60 * 60 * 1000) / 60_000);
  ledger.abandon((bulkId) => `Kustomer did not complete bulk operation ${bulkId} within ${minutes} minutes; sending the line again is safe`);

  // 3. The report and the retry file, in one more pass over the file.
  const retry = createWriteStream(options.retryFile ?? `${file}.retry.jsonl`);
  const report = await writeReport(ledger, nonBlank(fileLines(file)), async (text) => {
    if (!retry.write(`${text}\n`)) await once(retry, "drain");
  });
  retry.end();
  await once(retry, "close");
  return report;
}

/** One line: the bar and the percentage both measure the file's bytes whose lines are done. */
export function progressLine({ items, bytes, totalBytes, elapsedMs }: JobProgress): string {
  const share = totalBytes ? Math.min(1, bytes / totalBytes) : 1;
  const rate = items / Math.max(elapsedMs / 1000, 0.001);
  const etaSeconds = share > 0 ? ((elapsedMs / share) * (1 - share)) / 1000 : 0;
  // The bar draws the percentage it shows, so the two never disagree.
  const percent = Math.floor(share * 100);
  const bar = "#".repeat(Math.round((percent * 30) / 100)).padEnd(30, ".");
  return `[${bar}] ${String(percent).padStart(3)}% ${items} lines done, ${Math.round(rate)}/s, ETA ${Math.round(etaSeconds)} s`;
}

/**
 * Keeps the progress on one line of a terminal: it is redrawn in place, and anything else written
 * (the function's warnings) first clears it and is followed by a fresh copy, so nothing pushes it off.
 */
function progressDisplay() {
  const tty = Boolean(process.stderr.isTTY);
  // Straight to the terminal, past the wrappers below.
  const stderrWrite = (text: string) => Object.getPrototypeOf(process.stderr).write.call(process.stderr, text);
  const clear = "\r\x1b[2K";
  let shown = "";
  let lastDrawn = 0;
  if (tty) {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (!shown) return write(chunk, ...rest);
        const written = write(`${clear}${String(chunk)}`, ...rest);
        stderrWrite(shown);
        return written;
      }) as typeof stream.write;
    }
  }
  return {
    update(progress: JobProgress, force = false) {
      if (!force && Date.now() - lastDrawn < 500) return;
      lastDrawn = Date.now();
      shown = progressLine(progress);
      // Not a terminal (CI, a pipe): a plain line each time, nothing to redraw.
      stderrWrite(tty ? `${clear}${shown}` : `${shown}\n`);
    },
    finish(progress: JobProgress) {
      this.update({ ...progress, bytes: progress.totalBytes }, true);
      shown = "";
      if (tty) stderrWrite("\n");
    },
  };
}

async function main() {
  const file = fileArgument("npm run job -- <updates.jsonl>   (one customer update per line)");
  const handler = await loadQuietHandler();
  const environment = await prepareLocalEnvironment({ sandboxPort: 0 });
  const started = Date.now();
  const retryFile = `${file}.retry.jsonl`;
  const display = progressDisplay();
  let last: JobProgress = { items: 0, bytes: 0, totalBytes: 0, elapsedMs: 0 };
  try {
    const report = await runJob(file, {
      handler,
      retryFile,
      concurrency: Number(process.env.JOB_CONCURRENCY ?? 4),
      pollMs: Number(process.env.JOB_POLL_MS ?? 1_000),
      statusTimeoutMs: Number(process.env.JOB_STATUS_TIMEOUT_MINUTES ?? 360) * 60_000,
      onProgress: (progress) => {
        last = progress;
        display.update(progress);
      },
    });
    display.finish({ ...last, items: report.lines, elapsedMs: Date.now() - started });
    const reportFile = `${file}.report.json`;
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const peakMb = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    console.log(`${report.lines} lines: ${report.sent} sent, ${report.applied} applied, ${report.failed} failed, in ${seconds} s (peak memory ${peakMb} MB). Report: ${reportFile}`);
    if (report.failed > 0) console.log(`The ${report.failed} failed lines are in ${retryFile}: fix them and run npm run job -- ${retryFile}`);
    process.exitCode = report.failed > 0 ? 1 : 0;
  } finally {
    await environment.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
