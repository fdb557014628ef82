// `tsx --expose-gc bench/job-machine.ts <lines> [fail]` (with POWERTOOLS_LOG_LEVEL=ERROR and
// POWERTOOLS_METRICS_DISABLED=true set before it starts): one job of <lines> lines through the synthesized job
// state machine, whole (test/support/job-machine.ts: the rule, the interpreter, the emulated
// Distributed Map), against the S3 stand-in and the sandbox, in this process alone. Prints JSON: each
// step's time and the heap it added at its peak, the largest state input or output, and the history
// events of the parent and of the largest child. bench/run.ts runs it at two sizes and projects.

import { lambdaContext } from "../local/gateway.ts";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { LOCAL_NAMES } from "../local/state-machines.ts";
import { FakeS3 } from "../test/support/fake-s3.ts";
import { API_KEY, customerUpdates } from "../test/support/fixtures.ts";
import { jobStack, objectCreated, runJobMachine } from "../test/support/job-machine.ts";

const lines = Number(process.argv[2] ?? 10_000);
/** `fail`: Kustomer knows none of the customers, so every line fails: the report's largest case. */
const everyLineFails = process.argv[3] === "fail";
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const sandbox = new KustomerSandbox({
  apiKey: API_KEY,
  applyAfterMs: 0,
  knowsEveryCustomer: !everyLineFails,
  record: false,
  rateLimitPerMinute: 1_000_000,
});
const s3 = new FakeS3();
const [kustomerUrl, s3Url] = await Promise.all([sandbox.start(), s3.start()]);
Object.assign(process.env, {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_ENDPOINT_URL_S3: s3Url,
  KUSTOMER_BASE_URL: kustomerUrl,
  KUSTOMER_API_KEY: API_KEY,
  POWERTOOLS_LOG_LEVEL: "ERROR",
  POWERTOOLS_METRICS_DISABLED: "true",
});
const { handler } = await import("../lambda/job-handler.ts");

const key = "jobs/bench.jsonl";
const body = `${customerUpdates(lines)
  .map((update) => JSON.stringify(update))
  .join("\n")}\n`;
s3.put(LOCAL_NAMES.bucket, key, body);

/** Per step: the calls, their total time, and the most live heap one call added over what was live before it. */
const steps = new Map<string, { calls: number; ms: number; maxMs: number; peakHeapMb: number }>();
let sampling: { peak: number } | undefined;
// What a step holds live: collected first, so garbage not yet collected is not counted as needed.
const sampler = setInterval(() => {
  if (!sampling) return;
  gc();
  sampling.peak = Math.max(sampling.peak, process.memoryUsage().heapUsed);
}, 250);
const measured = async (event: unknown, context: Parameters<typeof handler>[1]) => {
  const name = (event as { step: string }).step;
  // Children run side by side: their figures are the largest of any one call, with others beside it.
  const alone = name !== "lines";
  if (alone) gc();
  const before = process.memoryUsage().heapUsed;
  const mine = { peak: before };
  if (alone) sampling = mine;
  const started = performance.now();
  try {
    return await handler(event, context);
  } finally {
    const ms = performance.now() - started;
    if (alone) {
      mine.peak = Math.max(mine.peak, process.memoryUsage().heapUsed);
      sampling = undefined;
    }
    const entry = steps.get(name) ?? { calls: 0, ms: 0, maxMs: 0, peakHeapMb: 0 };
    entry.calls += 1;
    entry.ms += ms;
    entry.maxMs = Math.max(entry.maxMs, ms);
    if (alone) entry.peakHeapMb = Math.max(entry.peakHeapMb, (mine.peak - before) / 1024 / 1024);
    steps.set(name, entry);
  }
};

const started = performance.now();
const run = await runJobMachine({
  stack: jobStack(),
  event: objectCreated(key, Buffer.byteLength(body)),
  handler: measured,
  lambdaContext: () => lambdaContext("bench", 900_000),
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const report = JSON.parse(
  s3.text(
    LOCAL_NAMES.bucket,
    [...s3.objects.keys()].find((path) => path.endsWith("/report.json"))?.slice(LOCAL_NAMES.bucket.length + 1) ?? "",
  ) ?? "{}",
);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const [map] = run.mapRuns;
console.log(
  JSON.stringify({
    lines,
    everyLineFails,
    seconds: round(seconds),
    endState: run.visited.at(-1),
    applied: report.applied,
    failed: report.failed,
    largestStateBytes: Math.max(
      ...run.sizes.flatMap(({ inputBytes, outputBytes }) => [inputBytes, outputBytes]),
      map?.largestChildState ?? 0,
    ),
    largestTaskResultBytes: Math.max(...run.taskResults.map(({ bytes }) => bytes)),
    parentHistory: run.history,
    childHistory: map?.maxChildHistory,
    children: map?.items,
    steps: Object.fromEntries(
      [...steps].map(([name, entry]) => [
        name,
        { calls: entry.calls, totalMs: round(entry.ms, 0), maxMs: round(entry.maxMs, 0), peakHeapMb: round(entry.peakHeapMb) },
      ]),
    ),
  }),
);
await Promise.all([sandbox.stop(), s3.stop()]);
