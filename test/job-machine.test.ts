// The job as AWS runs it, whole: the job file's "Object Created" event through the synthesized rule and
// its input transformer, then the synthesized job state machine from Start to its end state, with the
// real job handler on every task, the real S3 client against the S3 stand-in, the real Kustomer client
// against the sandbox, and the Distributed Map emulated as AWS documents it. No state is played by hand.
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_NAMES } from "../local/state-machines.ts";
import type { S3Call } from "./support/fake-s3.ts";
import { customerUpdates } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";
import { type JobRun, type JobStack, jobStack, objectCreated, runJobMachine, STATE_MACHINE_ACCESS_KEY } from "./support/job-machine.ts";
import { ACCOUNT, type Call, Permissions, REGION } from "./support/permissions.ts";

const BUCKET = LOCAL_NAMES.bucket;
/** State input and output, and a task's result, are limited to 256 KiB on AWS. */
const STATE_LIMIT = 256 * 1024;

let world: World;
let jobHandler: (event: unknown, context: Context) => Promise<unknown>;
let stack: JobStack;

beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "1000", KUSTOMER_NOT_FOUND_GRACE_SECONDS: "60" });
  // Loaded after the world, so it shares its fresh modules and environment.
  ({ handler: jobHandler } = await import("../lambda/job-handler.ts"));
  stack = jobStack();
});
/** Every S3 call any test here made, for the permission simulation at the end. */
const recorded: S3Call[] = [];
beforeEach(() => {
  world.kustomer.reset();
  world.s3.objects.clear();
  recorded.push(...world.s3.calls.splice(0));
});
afterAll(() => world.stop());

interface Report {
  lines: number;
  sent: number;
  applied: number;
  failed: number;
  inDoubt: number;
  unsent: number;
  unchanged: number;
  failures: Array<{ line: number; id?: string; state: string; reason: string }>;
}

const lines = (updates: Array<Record<string, unknown>>) => updates.map((update) => JSON.stringify(update));

/** Puts the job file and runs the job its event starts; Kustomer's clock moves 1 s at every task. */
async function runJob(
  key: string,
  body: string | Buffer,
  options: { moveClock?: boolean; handler?: typeof jobHandler; stack?: JobStack } = {},
): Promise<JobRun & { report?: Report; retry?: string[] }> {
  world.s3.put(BUCKET, key, body);
  const run = await runJobMachine({
    stack: options.stack ?? stack,
    event: objectCreated(key, Buffer.byteLength(body)),
    handler: options.handler ?? jobHandler,
    lambdaContext: () => lambdaContext(900_000),
    beforeTask: () => {
      if (options.moveClock ?? true) world.advance(1_000);
    },
  });
  const runFolder = [...world.s3.objects.keys()].find((path) => path.startsWith(`${BUCKET}/results/`) && path.endsWith("/report.json"));
  const report = runFolder ? (JSON.parse(world.s3.objects.get(runFolder)?.toString("utf8") ?? "") as Report) : undefined;
  const retry = runFolder
    ? world.s3.objects
        .get(runFolder.replace(/report\.json$/, "retry.jsonl"))
        ?.toString("utf8")
        .split("\n")
        .filter(Boolean)
    : undefined;
  return { ...run, report, retry };
}

/** Every count set sums to the lines, and the report lists exactly the lines not applied. */
function expectConsistent(report: Report | undefined): asserts report {
  expect(report).toBeDefined();
  const { lines: total, applied, failed, inDoubt, unsent, unchanged, failures } = report as Report;
  expect(applied + failed + inDoubt + unsent + unchanged).toBe(total);
  expect(failures).toHaveLength(failed + inDoubt + unsent);
  for (const state of ["failed", "inDoubt", "unsent"] as const)
    expect(failures.filter((entry) => entry.state === state)).toHaveLength((report as Report)[state]);
}

function expectWithinLimits(run: JobRun): void {
  for (const { state, inputBytes, outputBytes } of run.sizes)
    expect({ state, bytes: Math.max(inputBytes, outputBytes) }).toEqual({ state, bytes: expect.any(Number) });
  expect(Math.max(...run.sizes.flatMap(({ inputBytes, outputBytes }) => [inputBytes, outputBytes]))).toBeLessThan(STATE_LIMIT);
  for (const map of run.mapRuns) expect(map.largestChildState).toBeLessThan(STATE_LIMIT);
  expect(run.history).toBeLessThan(25_000);
}

/** Each customer's id as Kustomer received it, once per bulk request. */
const sentIds = () => world.kustomer.bulkPuts.flatMap((put) => (put.body as Array<{ id: string }>).map((update) => update.id));

it("runs a 1,000-line job from its S3 event to JobDone: 3 broken lines and 2 customers Kustomer failed, each by line number, in the report and the retry file", async () => {
  const updates: Array<Record<string, unknown>> = customerUpdates(1_000);
  world.kustomer.addCustomers(updates.filter((_, index) => index !== 399 && index !== 799).map(({ id }) => ({ id: id as string })));
  const text = lines(updates);
  text[9] = "{not json";
  text[499] = JSON.stringify({ ...updates[499], gender: "x" });
  text[949] = JSON.stringify({ ...updates[949], emails: [{ email: "not an email" }] });

  const run = await runJob("jobs/updates.jsonl", `${text.join("\n")}\n`);

  expect(run.error).toBeUndefined();
  expect(run.visited.at(-1)).toBe("JobDone");
  expectConsistent(run.report);
  expect(run.report).toMatchObject({ lines: 1_000, sent: 997, applied: 995, failed: 5, inDoubt: 0, unsent: 0, unchanged: 0 });
  expect(run.report.failures).toEqual([
    { line: 10, state: "failed", reason: "is not JSON" },
    { line: 400, id: updates[399]!.id, state: "failed", reason: "customer not found" },
    { line: 500, id: updates[499]!.id, state: "failed", reason: expect.stringMatching(/^gender: /) },
    { line: 800, id: updates[799]!.id, state: "failed", reason: "customer not found" },
    { line: 950, id: updates[949]!.id, state: "failed", reason: expect.stringMatching(/^emails\[0\]\.email: /) },
  ]);
  expect(run.retry).toEqual([text[9], text[399], text[499], text[799], text[949]]);
  // Ten requests, no customer sent twice.
  expect(world.kustomer.bulkPuts).toHaveLength(10);
  expect(new Set(sentIds()).size).toBe(997);
  expect(sentIds()).toHaveLength(997);
  expect(run.mapRuns).toEqual([expect.objectContaining({ items: 10, succeeded: 10, failed: 0, pending: 0 })]);
  expect(run.events).toEqual([
    expect.objectContaining({
      source: "kustomer-bulk-update",
      detailType: "Customer Bulk Update Job Completed",
      detail: expect.objectContaining({
        key: "jobs/updates.jsonl",
        lines: 1_000,
        applied: 995,
        failed: 5,
        inDoubt: 0,
        unsent: 0,
        report: expect.stringMatching(/^s3:\/\/.+\/report\.json$/),
      }),
    }),
  ]);
  expectWithinLimits(run);
});

/** A job file of these updates, whose customers Kustomer knows. */
function knownUpdates(count: number) {
  const updates = customerUpdates(count);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  return updates;
}
const carrying = (id: string) => (request: { body: unknown }) => JSON.stringify(request.body).includes(id);

it("rides out a batch Kustomer keeps unavailable: its child fails after every retry, within the tolerated failures, and the run ends JobDone with that batch's lines failed", async () => {
  const updates = knownUpdates(1_000);
  // Every attempt for the fourth batch: the client's 2 in each of the state machine's 7 tries.
  world.kustomer.inject({ method: "PUT", match: carrying(updates[350]!.id), times: 100, fault: { status: 503 } });

  const run = await runJob("jobs/outage.jsonl", `${lines(updates).join("\n")}\n`);

  expect(run.visited.at(-1)).toBe("JobDone");
  expect(run.mapRuns).toEqual([expect.objectContaining({ items: 10, succeeded: 9, failed: 1, pending: 0 })]);
  expectConsistent(run.report);
  expect(run.report).toMatchObject({ lines: 1_000, applied: 900, failed: 100, inDoubt: 0, unsent: 0 });
  expect(run.report.failures.map(({ line }) => line)).toEqual(Array.from({ length: 100 }, (_, index) => 301 + index));
  expect(run.report.failures[0]).toEqual({
    line: 301,
    id: updates[300]!.id,
    state: "failed",
    reason: expect.stringMatching(/^KustomerUnavailableError: Kustomer answered PUT \/v1\/customers\/bulk with 503/),
  });
  expect(world.kustomer.bulkPuts.filter((put) => carrying(updates[350]!.id)(put))).toHaveLength(14);
  expectWithinLimits(run);
});

it("fails the run past the tolerated failures, after writing the report: failed batches' lines failed, the batches never started unsent, announced as Job Failed", async () => {
  const updates = knownUpdates(1_000);
  // Kustomer refuses every request for as long as it is tried: the map stops once 2 of 10 batches failed.
  world.kustomer.inject({ method: "PUT", times: 1_000, fault: { status: 503 } });

  const run = await runJob("jobs/beyond.jsonl", `${lines(updates).join("\n")}\n`);

  expect(run.error).toEqual({
    name: "States.ExceedToleratedFailureThreshold",
    message: "The specified tolerated failure threshold was exceeded",
  });
  expect(run.visited.slice(-3)).toEqual(["MapFailed", "AnnounceJobFailed", "JobFailed"]);
  const [map] = run.mapRuns;
  // Three at once: once the second failed, nothing more started.
  expect(map).toMatchObject({ items: 10, succeeded: 0, pending: 10 - map!.failed });
  expect(map!.pending).toBeGreaterThanOrEqual(5);
  expectConsistent(run.report);
  expect(run.report).toMatchObject({ lines: 1_000, applied: 0, failed: map!.failed * 100, unsent: map!.pending * 100, inDoubt: 0 });
  const unsent = run.report.failures.find((entry) => entry.state === "unsent");
  expect(unsent?.reason).toBe(
    "not sent: the job stopped before this line's batch ran (States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded)",
  );
  // Unsent lines went in no request.
  expect(sentIds()).not.toContain(unsent?.id);
  expect(run.retry).toHaveLength(1_000);
  expect(run.events).toEqual([
    expect.objectContaining({
      detailType: "Customer Bulk Update Job Failed",
      detail: expect.objectContaining({
        failed: map!.failed * 100,
        unsent: map!.pending * 100,
        error: { name: "States.ExceedToleratedFailureThreshold", message: expect.any(String) },
      }),
    }),
  ]);
});

it("puts the lines of a child stopped after its request went out in doubt, and does not send them again", async () => {
  const updates = knownUpdates(1_000);
  // The second batch's function times out once Kustomer has its request, before recording it.
  const stoppedMidway = async (event: unknown, context: Context) => {
    const step = event as { step?: string; first?: number; run?: string };
    const answer = await jobHandler(event, context);
    if (step.step === "lines" && step.first === 101) {
      world.s3.objects.delete(`${BUCKET}/results/${step.run}/batches/101.json`);
      throw Object.assign(new Error("Task timed out after 900.00 seconds"), { name: "Sandbox.Timedout" });
    }
    return answer;
  };

  const run = await runJob("jobs/stopped.jsonl", `${lines(updates).join("\n")}\n`, { handler: stoppedMidway });

  expect(run.visited.at(-1)).toBe("JobDone");
  expectConsistent(run.report);
  expect(run.report).toMatchObject({ lines: 1_000, applied: 900, failed: 0, inDoubt: 100, unsent: 0 });
  expect(run.report.failures[0]).toEqual({
    line: 101,
    id: updates[100]!.id,
    state: "inDoubt",
    reason: "Sandbox.Timedout: Task timed out after 900.00 seconds",
  });
  expect(world.kustomer.bulkPuts.filter((put) => carrying(updates[150]!.id)(put))).toHaveLength(1);
});

it("puts the lines of operations still not complete at the status timeout in doubt, and ends JobDone with the report", async () => {
  const updates = knownUpdates(250);
  const bounded = jobStack({ statusTimeoutMinutes: "2" });

  // Kustomer's clock never moves: its operations stay queued.
  const run = await runJob("jobs/slow.jsonl", `${lines(updates).join("\n")}\n`, { moveClock: false, stack: bounded });

  expect(run.visited.at(-1)).toBe("JobDone");
  // Two minutes at one check every 30 s: four checks, then the report.
  expect(run.visited.filter((state) => state === "Follow")).toHaveLength(4);
  expectConsistent(run.report);
  expect(run.report).toMatchObject({ lines: 250, sent: 250, applied: 0, inDoubt: 250 });
  expect(run.report.failures[0]?.reason).toMatch(/^Kustomer did not complete bulk operation [0-9a-f]{24} within 2 minutes$/);
});

it("holds a bulk id Kustomer does not know yet as pending for the grace period, then follows it to applied", async () => {
  const updates = knownUpdates(100);
  // Kustomer's status reads lag its bulk updates: the first three reads answer 404.
  world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\/[0-9a-f]{24}$/, times: 3, fault: { status: 404 } });

  const run = await runJob("jobs/lag.jsonl", `${lines(updates).join("\n")}\n`);

  expect(run.visited.at(-1)).toBe("JobDone");
  expect(run.report).toMatchObject({ lines: 100, applied: 100, failed: 0, inDoubt: 0 });
});

it("sends nothing of a job file replaced during its run, mixes no two files, and fails the run on the change with a Job Failed event", async () => {
  const updates = knownUpdates(300);
  const other = customerUpdates(300).map((update) => ({ ...update, tags: ["replaced"] }));
  // A producer uploads the same key again once the run has planned the first file.
  const replacing = async (event: unknown, context: Context) => {
    const answer = await jobHandler(event, context);
    if ((event as { step?: string }).step === "plan") world.s3.put(BUCKET, "jobs/replaced.jsonl", `${lines(other).join("\n")}\n`);
    return answer;
  };

  const run = await runJob("jobs/replaced.jsonl", `${lines(updates).join("\n")}\n`, { handler: replacing });

  // The batches read after the change send nothing; the report, which copies lines from the planned
  // file, cannot be written from another: the run fails on the change itself, and says so.
  expect(run.mapRuns[0]).toMatchObject({ succeeded: 0, failed: 3 });
  expect(world.kustomer.bulkPuts).toHaveLength(0);
  expect(run.error?.name).toBe("JobFileChangedError");
  expect(run.visited.at(-1)).toBe("JobStepFailed");
  expect(run.report).toBeUndefined();
  expect(run.events).toEqual([
    expect.objectContaining({
      detailType: "Customer Bulk Update Job Failed",
      detail: expect.objectContaining({ error: expect.objectContaining({ name: "JobFileChangedError" }) }),
    }),
  ]);
});

it("starts nothing for a file outside jobs/, and fails a run whose file is gone with a Job Failed event", async () => {
  world.s3.put(BUCKET, "elsewhere/updates.jsonl", "{}\n");
  expect(
    (
      await runJobMachine({
        stack,
        event: objectCreated("elsewhere/updates.jsonl", 3),
        handler: jobHandler,
        lambdaContext: () => lambdaContext(900_000),
      })
    ).started,
  ).toBe(false);

  const run = await runJobMachine({
    stack,
    event: objectCreated("jobs/deleted.jsonl", 3),
    handler: jobHandler,
    lambdaContext: () => lambdaContext(900_000),
  });
  // S3 answers a HEAD of a missing key with a bodiless 403, for a caller that may not list the bucket.
  expect(run.error).toBeDefined();
  expect(run.visited.slice(-2)).toEqual(["AnnounceStepFailed", "JobStepFailed"]);
  expect(run.events).toEqual([
    expect.objectContaining({
      detailType: "Customer Bulk Update Job Failed",
      detail: expect.objectContaining({ key: "jobs/deleted.jsonl", error: expect.objectContaining({ name: run.error?.name }) }),
    }),
  ]);
});

describe("permissions, simulated against the synthesized policies", () => {
  let permissions: Permissions;
  let jobRole: string;
  let machineRole: string;
  let dataKey: string;
  let bucketArn: string;
  beforeAll(() => {
    permissions = new Permissions(stack.template);
    const roleOf = (type: string, prefix: string) =>
      stack.template.Resources[permissions.idOf(type, prefix)].Properties[type === "AWS::Lambda::Function" ? "Role" : "RoleArn"][
        "Fn::GetAtt"
      ][0] as string;
    jobRole = roleOf("AWS::Lambda::Function", "JobFunction");
    machineRole = roleOf("AWS::StepFunctions::StateMachine", "JobStateMachine");
    dataKey = permissions.arnOf("AWS::KMS::Key", "DataKey");
    bucketArn = permissions.arnOf("AWS::S3::Bucket", "JobBucket");
  });
  const allowed = async (calls: Call[]) => {
    const decisions = await Promise.all(calls.map(async (call) => ({ ...call, decision: await permissions.decide(call) })));
    expect(
      decisions
        .filter(({ decision }) => decision !== "Allowed")
        .map(({ principal, action, resource, decision }) => `${decision}: ${principal} ${action} ${resource}`),
    ).toEqual([]);
  };
  /** S3 encrypts under the bucket's key: each call uses the data key through S3, as its caller. */
  const throughS3 = (principal: string, action: string): Call => ({
    principal,
    action: action === "s3:GetObject" ? "kms:Decrypt" : "kms:GenerateDataKey",
    resource: dataKey,
    context: {
      "kms:ViaService": `s3.${REGION}.amazonaws.com`,
      "kms:CallerAccount": ACCOUNT,
      "kms:EncryptionContext:aws:s3:arn": bucketArn,
    },
  });

  it("allows every S3 call the job's function and its map made in these tests, with the data key through S3, and nothing outside results/ and jobs/", async () => {
    recorded.push(...world.s3.calls.splice(0));
    const principalOf: Record<string, string> = { AKIDEXAMPLE: "job function", [STATE_MACHINE_ACCESS_KEY]: "state machine" };
    const distinct = new Map<string, Call>();
    for (const call of recorded) {
      const principal = call.accessKeyId === STATE_MACHINE_ACCESS_KEY ? machineRole : jobRole;
      expect(principalOf[call.accessKeyId]).toBeDefined();
      const resource = call.resource.replace(`arn:aws:s3:::${BUCKET}`, bucketArn);
      // Keys differ per run; their place (jobs/, results/<run>/map/, ...) is what a policy decides on.
      const shape = `${principal} ${call.action} ${resource.replace(/[0-9a-f-]{36}/g, "<id>").replace(/\/\d+\.json$/, "/<n>.json")}`;
      distinct.set(shape, {
        principal,
        action: call.action,
        resource,
        context: { "aws:SecureTransport": "true", ...(call.prefix === undefined ? {} : { "s3:prefix": call.prefix }) },
      });
    }
    const calls = [...distinct.values()];
    expect(calls.map(({ action }) => action)).toEqual(expect.arrayContaining(["s3:GetObject", "s3:PutObject", "s3:ListBucket"]));
    expect(calls.some(({ principal }) => principal === machineRole)).toBe(true);
    await allowed([
      ...calls,
      ...calls.filter(({ action }) => action !== "s3:ListBucket").map(({ principal, action }) => throughS3(principal, action)),
    ]);
    // And the job's function may not write job files, nor read outside its prefixes.
    expect(
      await permissions.decide({
        principal: jobRole,
        action: "s3:PutObject",
        resource: `${bucketArn}/jobs/forged.jsonl`,
        context: { "aws:SecureTransport": "true" },
      }),
    ).not.toBe("Allowed");
  });

  it("allows what AWS does for the job: the rule starting it, the state machine invoking the function, starting its map's children and announcing the end, each with the data key", async () => {
    const machineArn = permissions.arnOf("AWS::StepFunctions::StateMachine", "JobStateMachine");
    const functionArn = permissions.arnOf("AWS::Lambda::Function", "JobFunction");
    const startRole = permissions.idOf("AWS::IAM::Role", "JobStartRole");
    const ruleArn = `arn:aws:events:${REGION}:${ACCOUNT}:rule/KustomerBulkUpdate-job-file-arrived`;
    const stateMachineContext = { "kms:EncryptionContext:aws:states:stateMachineArn": machineArn, "kms:CallerAccount": ACCOUNT };
    await allowed([
      {
        principal: "events.amazonaws.com",
        action: "sts:AssumeRole",
        resource: permissions.arnOf("AWS::IAM::Role", "JobStartRole"),
        context: { "aws:SourceArn": ruleArn, "aws:SourceAccount": ACCOUNT },
      },
      { principal: startRole, action: "states:StartExecution", resource: machineArn },
      { principal: machineRole, action: "lambda:InvokeFunction", resource: functionArn },
      { principal: machineRole, action: "states:StartExecution", resource: machineArn },
      { principal: machineRole, action: "events:PutEvents", resource: permissions.arnOf("AWS::Events::EventBus", "Bus") },
      { principal: machineRole, action: "kms:GenerateDataKey", resource: dataKey, context: stateMachineContext },
      { principal: machineRole, action: "kms:Decrypt", resource: dataKey, context: stateMachineContext },
    ]);
    // The start role is for this rule alone.
    expect(
      await permissions.decide({
        principal: "events.amazonaws.com",
        action: "sts:AssumeRole",
        resource: permissions.arnOf("AWS::IAM::Role", "JobStartRole"),
        context: { "aws:SourceArn": `${ruleArn}-other`, "aws:SourceAccount": ACCOUNT },
      }),
    ).not.toBe("Allowed");
  });

  it("allows the request rule to queue commands with the data key, and the functions to read the Kustomer key only through Secrets Manager", async () => {
    const queue = permissions.arnOf("AWS::SQS::Queue", "BurstQueue");
    const ruleArn = permissions.arnOf("AWS::Events::Rule", "BulkUpdateRequested");
    const secretArn = permissions.arnOf("AWS::SecretsManager::Secret", "KustomerApiKey", "Ref");
    const secretsContext = {
      "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`,
      "kms:CallerAccount": ACCOUNT,
      "kms:EncryptionContext:SecretARN": secretArn,
    };
    await allowed([
      {
        principal: "events.amazonaws.com",
        action: "sqs:SendMessage",
        resource: queue,
        context: { "aws:SourceArn": ruleArn, "aws:SourceAccount": ACCOUNT },
      },
      { principal: "events.amazonaws.com", action: "kms:GenerateDataKey", resource: dataKey, context: { "aws:SourceAccount": ACCOUNT } },
      { principal: jobRole, action: "secretsmanager:GetSecretValue", resource: secretArn },
      { principal: jobRole, action: "kms:Decrypt", resource: dataKey, context: secretsContext },
    ]);
    expect(
      await permissions.decide({
        principal: "events.amazonaws.com",
        action: "sqs:SendMessage",
        resource: queue,
        context: { "aws:SourceArn": `${ruleArn}-other`, "aws:SourceAccount": ACCOUNT },
      }),
    ).toBe("ExplicitlyDenied");
  });

  it("lets the deploying role create the table's grants through DynamoDB, for an AWS resource only, and the state machines check the key: never a plain grant", async () => {
    const deployer = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;
    // CDK bootstrap's default: AdministratorAccess.
    const administrator = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }];
    const via = (service: string) => ({ "kms:ViaService": `${service}.${REGION}.amazonaws.com`, "kms:CallerAccount": ACCOUNT });
    await allowed([
      {
        principal: deployer,
        identity: administrator,
        action: "kms:CreateGrant",
        resource: dataKey,
        context: { ...via("dynamodb"), "kms:GrantIsForAWSResource": "true" },
      },
      { principal: deployer, identity: administrator, action: "kms:DescribeKey", resource: dataKey, context: via("dynamodb") },
      { principal: deployer, identity: administrator, action: "kms:GenerateDataKey", resource: dataKey, context: via("states") },
      { principal: deployer, identity: administrator, action: "kms:DescribeKey", resource: dataKey },
    ]);
    for (const context of [{ ...via("dynamodb"), "kms:GrantIsForAWSResource": "false" }, { "kms:CallerAccount": ACCOUNT }]) {
      expect(
        await permissions.decide({ principal: deployer, identity: administrator, action: "kms:CreateGrant", resource: dataKey, context }),
      ).not.toBe("Allowed");
    }
    // An administrator's IAM alone never decrypts with the data key.
    expect(
      await permissions.decide({
        principal: `arn:aws:iam::${ACCOUNT}:role/Admin`,
        identity: administrator,
        action: "kms:Decrypt",
        resource: dataKey,
      }),
    ).not.toBe("Allowed");
  });
});

describe("what Kustomer's answers name, and no more (CONTRACT §2.6)", () => {
  it("fails only the customers Kustomer names, and leaves the rest in doubt when its counts do not say which", async () => {
    const updates = knownUpdates(100);
    // 60 updated and 10 failed of 100, with 5 failures itemised.
    const itemised = updates.slice(0, 5).map(({ id }) => ({ _clientRef: id, objectId: id, status: "error", error: "customer not found" }));
    world.kustomer.inject({
      method: "GET",
      path: /\/batches$/,
      fault: { status: 200, body: { data: [{ successCount: 60, failureCount: 10, results: itemised }] } },
    });

    const run = await runJob("jobs/counts.jsonl", `${lines(updates).join("\n")}\n`);

    expectConsistent(run.report);
    expect(run.report).toMatchObject({ lines: 100, applied: 0, failed: 5, inDoubt: 95 });
    expect(run.report.failures[5]).toEqual({
      line: 6,
      id: updates[5]!.id,
      state: "inDoubt",
      reason: expect.stringMatching(/with 60 updated and 10 failed of 100, without naming which$/),
    });
  });

  it("ends an operation Kustomer reports in a status it does not document, seen twice, with its lines in doubt", async () => {
    const updates = knownUpdates(100);
    world.kustomer.inject({
      method: "GET",
      path: /^\/v1\/bulk\/[0-9a-f]{24}$/,
      times: 2,
      fault: { status: 200, body: { data: { type: "bulk", id: "x", attributes: { status: "failed" } } } },
    });

    const run = await runJob("jobs/odd-status.jsonl", `${lines(updates).join("\n")}\n`);

    expect(run.visited.at(-1)).toBe("JobDone");
    expectConsistent(run.report);
    expect(run.report).toMatchObject({ lines: 100, applied: 0, inDoubt: 100 });
    expect(run.report.failures[0]?.reason).toMatch(/^Kustomer reported bulk operation [0-9a-f]{24} failed$/);
    // Seen once by Collect's first Follow, once more by the next: then final, not polled for hours.
    expect(run.visited.filter((state) => state === "Follow")).toHaveLength(2);
  });
});
