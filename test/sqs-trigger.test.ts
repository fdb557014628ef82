// The burst queue's consumer: each record is handed to the workflow (through the real SFN client and a
// local Step Functions endpoint), named for its delivery, so a redelivery starts nothing new.
import type { SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalStepFunctions } from "../local/step-functions.ts";
import { FakeSqs } from "./support/fake-sqs.ts";
import { customerUpdates, eventBridgeEvent, sampleEvent, sqsEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:KustomerBulkUpdate-workflow";
const sqs = new FakeSqs();
const stepFunctions = new LocalStepFunctions();
let world: World;
let queueUrl: string;

beforeAll(async () => {
  const [sqsEndpoint, sfnEndpoint] = await Promise.all([sqs.start(), stepFunctions.start()]);
  queueUrl = `${sqsEndpoint}/123456789012/kustomer-bulk-update-dlq`;
  process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
  process.env.AWS_ENDPOINT_URL_SFN = sfnEndpoint;
  world = await startWorld({ DEAD_LETTER_QUEUE_URL: queueUrl, WORKFLOW_STATE_MACHINE_ARN: STATE_MACHINE_ARN });
});
beforeEach(() => {
  sqs.sent.length = 0;
  sqs.failures = 0;
  stepFunctions.started.length = 0;
  stepFunctions.throttles = 0;
});
afterAll(async () => {
  await world.stop();
  await Promise.all([sqs.stop(), stepFunctions.stop()]);
  delete process.env.AWS_ENDPOINT_URL_SFN;
});

const command = (from: number, count: number) => JSON.stringify({ body: customerUpdates(from + count - 1).slice(from - 1) });

describe("SQS batches", () => {
  it("start one workflow run per record: a request event's under its event id, a command's under its message id", async () => {
    const event = eventBridgeEvent({ body: customerUpdates(2) });
    const response = await world.handler(sqsEvent([JSON.stringify(event), command(1, 20)]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(stepFunctions.started).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, name: event.id, input: JSON.stringify(event.detail) },
      { stateMachineArn: STATE_MACHINE_ARN, name: "message-2", input: command(1, 20) },
    ]);
    // Nothing reaches Kustomer from here: the workflow submits.
    expect(world.kustomer.bulkPuts).toEqual([]);
  });

  it("start nothing new for a redelivered record, and count it done", async () => {
    const event = JSON.stringify(eventBridgeEvent({ body: customerUpdates(1) }));
    await world.handler(sqsEvent([event]), lambdaContext());
    const again = await world.handler(sqsEvent([event]), lambdaContext());
    expect(again).toEqual({ batchItemFailures: [] });
    expect(stepFunctions.started).toHaveLength(1);
    expect(world.logs.some((line) => line.includes('"duplicate":true'))).toBe(true);
  });

  it("hand back exactly the records Step Functions throttled", async () => {
    // Once the first has started, the second gets a throttle on each of the SDK's three attempts.
    stepFunctions.onStart = () => {
      stepFunctions.throttles = 3;
      stepFunctions.onStart = undefined;
    };
    const throttled = await world.handler(sqsEvent([command(4, 1), command(5, 1), command(6, 1)]), lambdaContext());
    expect(throttled).toEqual({ batchItemFailures: [{ itemIdentifier: "message-2" }] });
    expect(stepFunctions.started.map((execution) => execution.name)).toEqual(["message-1", "message-3"]);
    expect(sqs.sent).toEqual([]);
  });

  it("send records that can never start to the dead-letter queue at once, with the reason", async () => {
    const tooLarge = JSON.stringify({ body: customerUpdates(1), padding: "x".repeat(300_000) });
    const wrongType = JSON.stringify(eventBridgeEvent({ body: customerUpdates(1) }, "Customer Deleted"));
    const response = await world.handler(sqsEvent(["not json", "[1,2]", tooLarge, wrongType, command(1, 3)]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs.sent.map(({ attributes }) => attributes)).toEqual([
      { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("not valid JSON") },
      { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("must be a command") },
      { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("at most 248 KiB") },
      { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("detail-type") },
    ]);
    expect(stepFunctions.started.map((execution) => execution.name)).toEqual(["message-5"]);
  });

  it("hand a record back when the dead-letter queue cannot take it, so nothing is lost", async () => {
    sqs.failures = 10;
    const response = await world.handler(sqsEvent(["not json"]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-1" }] });
  });

  it("hand back untried the records there is no time left for", async () => {
    const response = await world.invoke<SQSBatchResponse>(sqsEvent([command(1, 1), command(2, 1)]), lambdaContext(1_200));
    expect(response.batchItemFailures.map((failure: { itemIdentifier: string }) => failure.itemIdentifier)).toContain("message-2");
  });

  it("still refuses other event sources that carry Records", async () => {
    const s3Like = { Records: [{ eventSource: "aws:s3", s3: {} }] };
    await expect(world.handler(s3Like, lambdaContext())).rejects.toMatchObject({ name: "ValidationError" });
    // The AWS sample's own body is not JSON: it goes to the dead-letter queue.
    expect(await world.handler(sampleEvent("sqs-event.json"), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(sqs.sent.map((message) => message.attributes.ErrorName)).toEqual(["ValidationError"]);
  });
});
