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
  items: number;
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
  let lineNumber = 0;
  let batch: unknown[] = [];

  const submit = (items: unknown[]) => {
    const task = options
      .handler({ Items: items }, lambdaContext(randomUUID(), FUNCTION_TIMEOUT_MS))
      .then(
        (result) => report.addAccepted(result as SubmitResult),
        (error: Error) => report.addFailed(customerIdsOf(items), error.name, error.message),
      )
      .finally(() => {
        inFlight.delete(task);
        done += items.length;
        options.onProgress?.({ items: done, bytes: input.bytesRead, totalBytes, elapsedMs: Date.now() - started });
        if (inFlight.size < options.concurrency) lines.resume();
      });
    inFlight.add(task);
    // Back-pressure: the file is read no faster than batches are sent, so memory stays flat.
    if (inFlight.size >= options.concurrency) lines.pause();
  };

  lines.on("line", (line) => {
    lineNumber += 1;
    if (!line.trim()) return;
    try {
      batch.push(JSON.parse(line));
    } catch {
      report.addFailed([`(line ${lineNumber})`], "ValidationError", `line ${lineNumber} is not JSON`);
      return;
    }
    if (batch.length === LINES_PER_BATCH) {
      submit(batch);
      batch = [];
    }
  });
  await new Promise<void>((resolve, reject) => {
    lines.on("close", resolve);
    input.on("error", reject);
  });
  if (batch.length > 0) submit(batch);
  // Tasks finishing now may start others' reading again, but the file is done: wait for them all.
  while (inFlight.size > 0) await Promise.all(inFlight);
  return report.toJSON();
}

function progressLine({ items, bytes, totalBytes, elapsedMs }: JobProgress): string {
  const rate = items / Math.max(elapsedMs / 1000, 0.001);
  const share = totalBytes ? bytes / totalBytes : 1;
  const etaSeconds = share > 0 ? ((elapsedMs / share) * (1 - share)) / 1000 : 0;
  const bar = "#".repeat(Math.round(share * 30)).padEnd(30, ".");
  return `[${bar}] ${items} items, ${Math.round(rate)}/s, ETA ${Math.round(etaSeconds)} s`;
}

async function main() {
  const file = fileArgument("npm run job -- <updates.jsonl>   (one customer update per line)");
  const handler = await loadQuietHandler();
  const environment = await prepareLocalEnvironment({ sandboxPort: 0 });
  let lastPrint = 0;
  const started = Date.now();
  try {
    const report = await runJob(file, {
      handler,
      concurrency: Number(process.env.JOB_CONCURRENCY ?? 4),
      onProgress: (progress) => {
        if (Date.now() - lastPrint < 500) return;
        lastPrint = Date.now();
        process.stderr.write(`${process.stderr.isTTY ? "\r" : ""}${progressLine(progress)}${process.stderr.isTTY ? "" : "\n"}`);
      },
    });
    const reportFile = `${file}.report.json`;
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write("\n");
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const peakMb = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    console.log(`${report.items} items: ${report.accepted} accepted, ${report.failed} failed, in ${seconds} s (peak memory ${peakMb} MB). Report: ${reportFile}`);
    process.exitCode = report.failed > 0 ? 1 : 0;
  } finally {
    await environment.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
