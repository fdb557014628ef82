import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { customerUpdates, sampleEvent, sqsEvent } from "./support/fixtures.ts";
import { FakeSqs } from "./support/fake-sqs.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const sqs = new FakeSqs();
let world: World;
let queueUrl: string;

beforeAll(async () => {
  const endpoint = await sqs.start();
  queueUrl = `${endpoint}/123456789012/kustomer-bulk-update-dlq`;
  process.env.AWS_ENDPOINT_URL_SQS = endpoint;
  world = await startWorld({ DEAD_LETTER_QUEUE_URL: queueUrl, KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "300" });
});
beforeEach(() => {
  world.kustomer.reset();
  sqs.sent.length = 0;
  sqs.failures = 0;
});
afterAll(async () => {
  await world.stop();
  await sqs.stop();
});

const command = (from: number, count: number) => JSON.stringify({ body: customerUpdates(from + count - 1).slice(from - 1) });

describe("SQS batches", () => {
  it("submit every record and report no failures", async () => {
    const response = await world.handler(sqsEvent([command(1, 150), command(151, 20)]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.kustomer.bulkPuts.map((put) => (put.body as unknown[]).length).sort()).toEqual([100, 20, 50]);
  });

  it("hand back exactly the records that failed retryably", async () => {
    const second = customerUpdates(200)[150]!.id;
    world.kustomer.inject({ match: (request) => JSON.stringify(request.body).includes(second), times: 10, fault: { status: 503 } });
    const response = await world.handler(sqsEvent([command(1, 100), command(151, 10), command(301, 5)]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-2" }] });
    expect(sqs.sent).toEqual([]);
  });

  it("send records that can never succeed to the dead-letter queue at once, with the reason", async () => {
    const invalid = JSON.stringify({ body: [{ id: "nope" }] });
    const response = await world.handler(sqsEvent([invalid, "not json", command(1, 3)]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs.sent).toEqual([
      {
        queueUrl,
        body: invalid,
        attributes: { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("body[0].id") },
      },
      { queueUrl, body: "not json", attributes: { ErrorName: "ValidationError", ErrorMessage: expect.stringContaining("not valid JSON") } },
    ]);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("hand a record back when the dead-letter queue cannot take it, so nothing is lost", async () => {
    sqs.failures = 10;
    const response = await world.handler(sqsEvent([JSON.stringify({ body: [] })]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-1" }] });
  });

  it("hand back untried the records there is no time left for", async () => {
    const response = await world.handler(sqsEvent([command(1, 1), command(2, 1)]), lambdaContext(1_200));
    expect(response.batchItemFailures.map((failure: { itemIdentifier: string }) => failure.itemIdentifier)).toContain("message-2");
  });

  it("still refuses other event sources that carry Records", async () => {
    const s3Like = { Records: [{ eventSource: "aws:s3", s3: {} }] };
    await expect(world.handler(s3Like, lambdaContext())).rejects.toMatchObject({ name: "ValidationError" });
    // The AWS sample's own body is not a command: it goes to the dead-letter queue.
    expect(await world.handler(sampleEvent("sqs-event.json"), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(sqs.sent.map((message) => message.attributes.ErrorName)).toEqual(["ValidationError"]);
  });
});
