// The job's steps on AWS (lambda/job-handler.ts), through the real S3 client against an S3 stub and the
// real Kustomer client against the sandbox. The Distributed Map between plan and collect is played by
// the test as AWS plays it (an ASL interpreter here has no ItemReader or ResultWriter): each item of
// the plan is one child's request, and the children's results are written in the ResultWriter's shape.
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { customerUpdates } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const BUCKET = "kbu-job-bucket";
let world: World;
let handler: (event: unknown, context?: Context) => Promise<unknown>;

beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2" });
  // Loaded after the world, so it shares its fresh modules and environment.
  ({ handler } = await import("../lambda/job-handler.ts"));
});
beforeEach(() => {
  world.kustomer.reset();
  world.s3.objects.clear();
});
afterAll(() => world.stop());

const object = (key: string) => world.s3.objects.get(`${BUCKET}/${key}`);
/** What the steps answer: the plan's totals and keys, a step's pending count, the report's summary. */
interface StepAnswer {
  lines: number;
  batchesKey: string;
  pending: number;
}
const step = (event: Record<string, unknown>) => handler({ bucket: BUCKET, ...event }, lambdaContext(900_000)) as Promise<StepAnswer>;

/** The Distributed Map as AWS runs it: a child per item, its results under the plan's prefix, `stopAfter` children at most. */
async function runMap(run: string, batchesKey: string, stopAfter = Number.POSITIVE_INFINITY): Promise<void> {
  const items = JSON.parse(object(batchesKey) ?? "[]") as unknown[];
  const results: Record<"SUCCEEDED" | "FAILED", unknown[]> = { SUCCEEDED: [], FAILED: [] };
  for (const item of items.slice(0, stopAfter)) {
    const entry = { ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:job/${randomUUID()}`, Input: JSON.stringify(item) };
    try {
      results.SUCCEEDED.push({ ...entry, Status: "SUCCEEDED", Output: JSON.stringify(await step(item as Record<string, unknown>)) });
    } catch (error) {
      const { name, message } = error as Error;
      results.FAILED.push({ ...entry, Status: "FAILED", Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message, trace: [] }) });
    }
  }
  const prefix = `results/${run}/map/${randomUUID()}`;
  const files: Record<string, Array<{ Key: string; Size: number }>> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  for (const status of ["SUCCEEDED", "FAILED"] as const) {
    const key = `${prefix}/${status}_0.json`;
    world.s3.objects.set(`${BUCKET}/${key}`, JSON.stringify(results[status]));
    files[status]!.push({ Key: key, Size: 1 });
  }
  world.s3.objects.set(`${BUCKET}/${prefix}/manifest.json`, JSON.stringify({ DestinationBucket: BUCKET, MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:job/x:y", ResultFiles: files }));
}

/** A job file of these updates, whose customers Kustomer knows, planned as `run`. */
async function planJob(key: string, updates: Array<{ id: string }>, run: string): Promise<StepAnswer> {
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  world.s3.objects.set(`${BUCKET}/${key}`, `${updates.map((update) => JSON.stringify(update)).join("\n")}\n`);
  return step({ step: "plan", key, run });
}

async function followUntilApplied(run: string): Promise<void> {
  for (let round = 0; round < 20; round += 1) {
    world.advance(1_000);
    if ((await step({ step: "follow", run })).pending === 0) return;
  }
  throw new Error("operations never completed");
}

it("plans, sends, follows and reports: every failed line by number with its reason, and exactly those lines in the retry file", async () => {
  const updates: Array<Record<string, unknown>> = customerUpdates(250);
  world.kustomer.addCustomers(updates.filter((_, index) => index !== 120).map(({ id }) => ({ id: id as string })));
  const lines = updates.map((update) => JSON.stringify(update));
  lines[4] = "{not json";
  lines[60] = JSON.stringify({ ...updates[60], gender: "x" });
  lines.splice(150, 0, "");
  world.s3.objects.set(`${BUCKET}/jobs/updates.jsonl`, `${lines.join("\r\n")}\r\n`);
  // The batch holding the last lines stays unavailable past the function's attempts.
  world.kustomer.inject({ method: "PUT", match: (request) => JSON.stringify(request.body).includes(updates[249]!.id as string), times: 10, fault: { status: 503 } });
  const run = "run-1";

  const plan = await step({ step: "plan", key: "jobs/updates.jsonl", run });
  expect(plan).toEqual({ lines: 250, batches: 3, batchesKey: `results/${run}/batches.json`, mapResultsPrefix: `results/${run}/map` });
  await runMap(run, plan.batchesKey);
  expect(await step({ step: "collect", run, lines: plan.lines, mapFailed: null })).toEqual({ pending: 2 });
  await followUntilApplied(run);
  const summary = await step({ step: "report", key: "jobs/updates.jsonl", run, abandon: false, statusTimeoutMinutes: 360 });

  expect(summary).toEqual({
    lines: 250,
    sent: 198,
    applied: 197,
    failed: 53,
    report: `s3://${BUCKET}/results/${run}/report.json`,
    retry: `s3://${BUCKET}/results/${run}/retry.jsonl`,
  });
  const report = JSON.parse(object(`results/${run}/report.json`) ?? "{}");
  expect(report.failures.slice(0, 3)).toEqual([
    { line: 5, reason: "is not JSON" },
    { line: 61, id: updates[60]!.id, reason: expect.stringMatching(/^gender: /) },
    { line: 121, id: updates[120]!.id, reason: "customer not found" },
  ]);
  // The third batch (lines 202 to 251: one blank line moved them down) failed whole, with the error.
  expect(report.failures.slice(3).map((failure: { line: number }) => failure.line)).toEqual(Array.from({ length: 50 }, (_, index) => 202 + index));
  expect(report.failures.at(-1)).toEqual({ line: 251, id: updates[249]!.id, reason: expect.stringMatching(/^KustomerUnavailableError: /) });
  const retry = object(`results/${run}/retry.jsonl`)?.split("\n").filter(Boolean);
  expect(retry).toEqual([lines[4], lines[60], lines[120], ...lines.slice(201)]);
});

it("still reports when the map stopped early: the batches it never ran are not sent, and say why", async () => {
  const updates = customerUpdates(300);
  const run = "run-2";
  const plan = await planJob("jobs/stopped.jsonl", updates, run);
  await runMap(run, plan.batchesKey, 1);
  const mapFailed = { Error: "States.ExceedToleratedFailureThreshold", Cause: "The specified tolerated failure threshold was exceeded" };
  expect(await step({ step: "collect", run, lines: plan.lines, mapFailed })).toEqual({ pending: 1 });
  await followUntilApplied(run);
  const summary = await step({ step: "report", key: "jobs/stopped.jsonl", run, abandon: false, statusTimeoutMinutes: 360 });
  expect(summary).toMatchObject({ lines: 300, sent: 100, applied: 100, failed: 200 });
  const report = JSON.parse(object(`results/${run}/report.json`) ?? "{}");
  expect(report.failures[0]).toEqual({ line: 101, id: updates[100]!.id, reason: "not sent: the job stopped first (States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded)" });
  expect(object(`results/${run}/retry.jsonl`)?.split("\n").filter(Boolean)).toHaveLength(200);
});

it("lists the lines of an operation still not complete at the status timeout as failed, safe to send again", async () => {
  const updates = customerUpdates(10);
  const run = "run-3";
  const plan = await planJob("jobs/slow.jsonl", updates, run);
  await runMap(run, plan.batchesKey);
  await step({ step: "collect", run, lines: plan.lines, mapFailed: null });
  // No time passes: Kustomer is still working on it when the job stops waiting.
  expect(await step({ step: "follow", run })).toEqual({ pending: 1 });
  const summary = await step({ step: "report", key: "jobs/slow.jsonl", run, abandon: true, statusTimeoutMinutes: 360 });
  expect(summary).toMatchObject({ lines: 10, sent: 10, applied: 0, failed: 10 });
  const report = JSON.parse(object(`results/${run}/report.json`) ?? "{}");
  expect(report.failures[0].reason).toMatch(/^Kustomer did not complete bulk operation [0-9a-f]{24} within 360 minutes; sending the line again is safe$/);
});

it("refuses a step it does not know, by name", async () => {
  await expect(step({ step: "explode" })).rejects.toMatchObject({ name: "ValidationError", message: expect.stringContaining("step") });
});
