// `npm run job -- updates.jsonl`: a large job on this machine, the way the stack's Distributed Map runs
// it: the file is streamed (constant memory), 100 lines go to each invocation of the real handler, a
// few at a time, and every line ends up in the same report, as accepted or failed with its reason.
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import { customerIdsOf, JobReport, type JobReportJson } from "../lambda/job/report.ts";
import type { SubmitResult } from "../lambda/results.ts";
import { fileArgument, FUNCTION_TIMEOUT_MS, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { lambdaContext } from "./gateway.ts";

/** As the Distributed Map's ItemBatcher: one bulk request per invocation. */
export const LINES_PER_BATCH = 100;

export interface JobProgress {
  /** Lines whose batch has been answered. */
  items: number;
  /** Bytes of the file those lines take: what the bar and the percentage measure. */
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface JobOptions {
  handler: (event: unknown, context: Context) => Promise<unknown>;
  /** Invocations at once, as the Distributed Map's MaxConcurrency. */
  concurrency: number;
  onProgress?: (progress: JobProgress) => void;
}

export async function runJob(file: string, options: JobOptions): Promise<JobReportJson> {
  const report = new JobReport();
  const totalBytes = (await stat(file)).size;
  const started = Date.now();
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  let doneBytes = 0;
  let lineNumber = 0;
  let batch: unknown[] = [];
  let batchBytes = 0;
  // Lines that never reach a batch (blank, or not JSON) are done as soon as they are read.
  const skip = (bytes: number) => {
    doneBytes += bytes;
  };

  const submit = (items: unknown[], bytes: number) => {
    const task = options
      .handler({ Items: items }, lambdaContext(randomUUID(), FUNCTION_TIMEOUT_MS))
      .then(
        (result) => report.addAccepted(result as SubmitResult),
        (error: Error) => report.addFailed(customerIdsOf(items), error.name, error.message),
      )
      .finally(() => {
        inFlight.delete(task);
        done += items.length;
        doneBytes += bytes;
        options.onProgress?.({ items: done, bytes: Math.min(doneBytes, totalBytes), totalBytes, elapsedMs: Date.now() - started });
        if (inFlight.size < options.concurrency) lines.resume();
      });
    inFlight.add(task);
    // Back-pressure: the file is read no faster than batches are sent, so memory stays flat.
    if (inFlight.size >= options.concurrency) lines.pause();
  };

  lines.on("line", (line) => {
    lineNumber += 1;
    // The line and its newline, as the file holds them.
    const bytes = Buffer.byteLength(line) + 1;
    if (!line.trim()) return skip(bytes);
    try {
      batch.push(JSON.parse(line));
    } catch {
      report.addFailed([`(line ${lineNumber})`], "ValidationError", `line ${lineNumber} is not JSON`);
      return skip(bytes);
    }
    batchBytes += bytes;
    if (batch.length === LINES_PER_BATCH) {
      submit(batch, batchBytes);
      batch = [];
      batchBytes = 0;
    }
  });
  await new Promise<void>((resolve, reject) => {
    lines.on("close", resolve);
    input.on("error", reject);
  });
  if (batch.length > 0) submit(batch, batchBytes);
  // Tasks finishing now may start others' reading again, but the file is done: wait for them all.
  while (inFlight.size > 0) await Promise.all(inFlight);
  return report.toJSON();
}

/** One line: the bar and the percentage both measure the file's bytes whose lines are answered. */
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
  const display = progressDisplay();
  let last: JobProgress = { items: 0, bytes: 0, totalBytes: 0, elapsedMs: 0 };
  try {
    const report = await runJob(file, {
      handler,
      concurrency: Number(process.env.JOB_CONCURRENCY ?? 4),
      onProgress: (progress) => {
        last = progress;
        display.update(progress);
      },
    });
    display.finish({ ...last, items: report.items, elapsedMs: Date.now() - started });
    const reportFile = `${file}.report.json`;
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const peakMb = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    console.log(`${report.items} items: ${report.accepted} accepted, ${report.failed} failed, in ${seconds} s (peak memory ${peakMb} MB). Report: ${reportFile}`);
    process.exitCode = report.failed > 0 ? 1 : 0;
  } finally {
    await environment.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
