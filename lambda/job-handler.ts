// The Lambda entry of a large job's steps (infra/job.ts), run in this order by the job state machine:
//   plan    - reads the job file once and cuts it into batches of 100 lines (byte ranges);
//   lines   - one batch, a Distributed Map child: each line checked alone, the valid ones sent;
//   collect - gathers the children's results into the run's ledger;
//   follow  - reads the status of the operations not complete yet (the state machine repeats it);
//   report  - writes the report and the retry file (CONTRACT §7).
// Each step keeps what it learnt under results/<run>/, so the state machine's own state stays small.
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import { getBulkStatuses } from "./kustomer/status.ts";
import { submitLines, type JobBatchResult } from "./job/batch.ts";
import { JobBucket, runKey } from "./job/bucket.ts";
import { JobLedger, type JobLedgerState } from "./job/ledger.ts";
import { nonBlank, rangesOf } from "./job/lines.ts";
import { writeReport } from "./job/report.ts";
import { validationErrorOf } from "./errors.ts";
import { issuesOf } from "./validation.ts";
import { logger, publishMetrics } from "./observability.ts";
import { deadlineOf, servicesFor } from "./services.ts";
import "./zod-messages.ts";

const name = z.string().check(z.minLength(1), z.maxLength(1024));
const atLeast = (minimum: number) => z.int().check(z.gte(minimum));
const range = { first: atLeast(1), last: atLeast(1), start: atLeast(0), end: atLeast(1) };

const stepSchema = z.discriminatedUnion("step", [
  z.strictObject({ step: z.literal("plan"), bucket: name, key: name, run: name }),
  z.strictObject({ step: z.literal("lines"), bucket: name, key: name, ...range }),
  z.strictObject({
    step: z.literal("collect"),
    bucket: name,
    run: name,
    lines: atLeast(0),
    mapFailed: z.nullable(z.object({ Error: z.string(), Cause: z.optional(z.string()) })),
  }),
  z.strictObject({ step: z.literal("follow"), bucket: name, run: name }),
  z.strictObject({ step: z.literal("report"), bucket: name, key: name, run: name, abandon: z.boolean(), statusTimeoutMinutes: atLeast(1) }),
]);
type Step = z.infer<typeof stepSchema>;

/** The Distributed Map's ResultWriter: a manifest naming files of child executions. */
const manifestSchema = z.object({
  ResultFiles: z.object({ SUCCEEDED: z._default(z.array(z.object({ Key: z.string() })), []), FAILED: z._default(z.array(z.object({ Key: z.string() })), []) }),
});
const optionalText = z.optional(z.string());
const childSchema = z.looseObject({ Status: z.string(), Input: optionalText, Output: optionalText, Error: optionalText, Cause: optionalText });

/** Time the follow step spends reading status before it hands back to the state machine's wait. */
const FOLLOW_BUDGET_MS = 60_000;

/** Lambda hands Step Functions `{errorType, errorMessage, trace}` as the cause: keep the message. */
function reasonOf(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? "";
  try {
    const parsed = JSON.parse(cause ?? "") as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") message = parsed.errorMessage;
  } catch {
    // Not JSON: the cause as it is.
  }
  return `${error ?? "Failed"}: ${message}`;
}

async function plan(step: Extract<Step, { step: "plan" }>) {
  const bucket = new JobBucket(step.bucket);
  const batches: Array<Record<string, unknown>> = [];
  let lines = 0;
  for await (const { count, ...range } of rangesOf(bucket.lines(step.key))) {
    batches.push({ step: "lines", bucket: step.bucket, key: step.key, ...range });
    lines += count;
  }
  const batchesKey = runKey(step.run, "batches.json");
  await bucket.put(batchesKey, JSON.stringify(batches));
  return { lines, batches: batches.length, batchesKey, mapResultsPrefix: runKey(step.run, "map") };
}

async function collect(step: Extract<Step, { step: "collect" }>) {
  const bucket = new JobBucket(step.bucket);
  const ledger = new JobLedger();
  ledger.state.lines = step.lines;
  const planned = await bucket.getJson<Array<{ first: number; last: number }>>(runKey(step.run, "batches.json"));
  const answered = new Set<number>();
  const manifestKey = await bucket.find(`${runKey(step.run, "map")}/`, "manifest.json");
  const manifest = manifestKey ? manifestSchema.parse(await bucket.getJson(manifestKey)) : { ResultFiles: { SUCCEEDED: [], FAILED: [] } };
  for (const file of [...manifest.ResultFiles.SUCCEEDED, ...manifest.ResultFiles.FAILED]) {
    for (const child of z.array(childSchema).parse(await bucket.getJson(file.Key))) {
      const input = JSON.parse(child.Input ?? "{}") as { first: number; last: number };
      answered.add(input.first);
      if (child.Status === "SUCCEEDED" && child.Output) ledger.addBatch(JSON.parse(child.Output) as JobBatchResult);
      else ledger.failRange(input, reasonOf(child.Error, child.Cause));
    }
  }
  // A batch with no result: the map stopped before running it, or before writing any result at all.
  const why = step.mapFailed ? ` (${reasonOf(step.mapFailed.Error, step.mapFailed.Cause)})` : "";
  const unknown = manifestKey ? `not sent: the job stopped first${why}` : `no result recorded: the job stopped before writing its results${why}; sending the line again is safe`;
  for (const batch of planned) if (!answered.has(batch.first)) ledger.failRange(batch, unknown);
  await bucket.put(runKey(step.run, "state.json"), JSON.stringify(ledger.state));
  return { pending: ledger.state.pending.length };
}

async function follow(step: Extract<Step, { step: "follow" }>, deadlineAt: number) {
  const bucket = new JobBucket(step.bucket);
  const ledger = new JobLedger(await bucket.getJson<JobLedgerState>(runKey(step.run, "state.json")));
  const services = servicesFor(process.env);
  const stopAt = Math.min(deadlineAt, Date.now() + FOLLOW_BUDGET_MS);
  // Kustomer works through operations in order: read the oldest first, and stop at one still running.
  for (let running = false; !running && ledger.state.pending.length > 0 && Date.now() < stopAt; ) {
    const status = await getBulkStatuses(ledger.pendingBulkIds.slice(0, 100), services.client, deadlineAt, services.concurrency);
    for (const operation of status.operations) if (!ledger.settle(operation)) running = true;
  }
  await bucket.put(runKey(step.run, "state.json"), JSON.stringify(ledger.state));
  return { pending: ledger.state.pending.length };
}

async function report(step: Extract<Step, { step: "report" }>) {
  const bucket = new JobBucket(step.bucket);
  const ledger = new JobLedger(await bucket.getJson<JobLedgerState>(runKey(step.run, "state.json")));
  ledger.abandon((bulkId) => `Kustomer did not complete bulk operation ${bulkId} within ${step.statusTimeoutMinutes} minutes; sending the line again is safe`);
  const retry: string[] = [];
  const json = await writeReport(ledger, nonBlank(bucket.lines(step.key)), (text) => {
    retry.push(`${text}\n`);
  });
  const retryObject = await bucket.put(runKey(step.run, "retry.jsonl"), retry.join(""), "application/x-ndjson");
  const reportObject = await bucket.put(runKey(step.run, "report.json"), `${JSON.stringify(json, null, 2)}\n`);
  const { lines, sent, applied, failed } = json;
  logger.info("job report written", { lines, sent, applied, failed, run: step.run });
  return { lines, sent, applied, failed, report: reportObject, retry: retryObject };
}

export async function handler(event: unknown, context?: Context): Promise<unknown> {
  const started = Date.now();
  logger.resetKeys();
  if (context) logger.addContext(context);
  const parsed = stepSchema.safeParse(event);
  if (!parsed.success) throw validationErrorOf(issuesOf(parsed.error));
  const step = parsed.data;
  logger.appendKeys({ trigger: "job", step: step.step });
  try {
    switch (step.step) {
      case "plan":
        return await plan(step);
      case "lines": {
        const lines = [];
        for await (const line of nonBlank(new JobBucket(step.bucket).lines(step.key, step))) lines.push(line);
        return await submitLines(lines, servicesFor(process.env), deadlineOf(context, started));
      }
      case "collect":
        return await collect(step);
      case "follow":
        return await follow(step, deadlineOf(context, started));
      case "report":
        return await report(step);
    }
  } finally {
    publishMetrics();
  }
}
