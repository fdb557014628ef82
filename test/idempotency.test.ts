// Each delivery applied once (CONTRACT §2.4), on a real local DynamoDB (dynalite, started here on
// 127.0.0.1) reached by the real SDK through AWS_ENDPOINT_URL_DYNAMODB, with Powertools Idempotency.
// (A duplicate queue message is deduplicated by the workflow's execution name: test/event-flow.test.ts.)
import { setTimeout as sleep } from "node:timers/promises";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_COMMAND_ITEMS } from "../lambda/contract/limits.ts";
import { RESUBMIT_TASK, WORKFLOW_CALLER } from "../lambda/contract/names.ts";
import { customerId, customerUpdates, eventBridgeEvent, restApiEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorldWithTables, type WorldWithTables } from "./support/harness.ts";

const TABLE = "kbu-idempotency";
const TTL_SECONDS = 2;
let world: WorldWithTables;

beforeAll(async () => {
  world = await startWorldWithTables([TABLE], {
    IDEMPOTENCY_TABLE_NAME: TABLE,
    IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS),
    KUSTOMER_MAX_ATTEMPTS: "2",
  });
});
beforeEach(() => {
  world.kustomer.reset();
  world.kustomer.latencyMs = 0;
  world.dynamodb.faults.length = 0;
  world.dynamodb.latencyMs = 0;
});
afterAll(async () => {
  await world.stop();
});

let keys = 0;
const newKey = () => `key-${(keys += 1)}-${Date.now()}`;
const put = (key: string | undefined, body: unknown, remainingMs?: number) =>
  world.http(
    restApiEvent({
      method: "PUT",
      path: "/customers/bulk",
      body,
      headers: { "content-type": "application/json", ...(key ? { "Idempotency-Key": key } : {}) },
    }),
    lambdaContext(remainingMs),
  );
const answer = (response: { statusCode: number; headers: Record<string, string>; body: string }) => ({
  status: response.statusCode,
  retryAfter: response.headers["retry-after"],
  body: JSON.parse(response.body),
});

describe("Idempotency-Key on HTTP", () => {
  it("answers a repeat with the first result (202, the same body) and sends nothing again", async () => {
    const key = newKey();
    const first = answer(await put(key, customerUpdates(3)));
    const again = answer(await put(key, customerUpdates(3)));
    expect(first.status).toBe(202);
    expect(again).toEqual(first);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("refuses the same key with another body: 409 IdempotencyConflictError, nothing sent", async () => {
    const key = newKey();
    await put(key, customerUpdates(3));
    const conflict = answer(await put(key, customerUpdates(4)));
    expect(conflict).toMatchObject({ status: 409, retryAfter: undefined, body: { error: { name: "IdempotencyConflictError" } } });
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("refuses a duplicate while the first is in flight, with Retry-After, and sends once", async () => {
    world.kustomer.latencyMs = 300;
    const key = newKey();
    const [one, two] = await Promise.all([put(key, customerUpdates(2)), sleep(50).then(() => put(key, customerUpdates(2)))]);
    expect([answer(one).status, answer(two).status].sort()).toEqual([202, 409]);
    const refused = [one, two].map(answer).find((response) => response.status === 409);
    expect(refused).toMatchObject({ retryAfter: "1", body: { error: { name: "IdempotencyConflictError" } } });
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("does not remember a failure: after a retryable error the redelivery goes through", async () => {
    const key = newKey();
    world.kustomer.inject({ method: "PUT", times: 2, fault: { status: 503 } });
    expect(answer(await put(key, customerUpdates(1))).status).toBe(503);
    expect(answer(await put(key, customerUpdates(1))).status).toBe(202);
    // Two attempts of the failed request, then the redelivery's one.
    expect(world.kustomer.bulkPuts).toHaveLength(3);
  });

  it("forgets a key after IDEMPOTENCY_TTL_SECONDS", async () => {
    const key = newKey();
    await put(key, customerUpdates(1));
    // Powertools keeps expiry in whole seconds: past the TTL plus that second, the key is forgotten.
    await sleep(TTL_SECONDS * 1000 + 1_100);
    expect(answer(await put(key, customerUpdates(1))).status).toBe(202);
    expect(world.kustomer.bulkPuts).toHaveLength(2);
  });

  it("deduplicates nothing without a key, and refuses a key that cannot be one", async () => {
    await put(undefined, customerUpdates(1));
    await put(undefined, customerUpdates(1));
    expect(world.kustomer.bulkPuts).toHaveLength(2);
    expect(answer(await put("has space", customerUpdates(1)))).toMatchObject({
      status: 400,
      body: { error: { issues: [{ path: "Idempotency-Key" }] } },
    });
  });
});

describe("other deliveries", () => {
  it("keeps each caller's keys its own: a second caller's same key is another key, with its own answer", async () => {
    const key = newKey();
    const as = (userArn: string, body: unknown) => {
      const event = restApiEvent({
        method: "PUT",
        path: "/customers/bulk",
        body,
        headers: { "content-type": "application/json", "Idempotency-Key": key },
      });
      return world.http(
        { ...event, requestContext: { ...event.requestContext, identity: { ...event.requestContext.identity, userArn } } },
        lambdaContext(),
      );
    };
    const first = answer(await as("arn:aws:iam::123456789012:user/alice", customerUpdates(2)));
    const second = answer(await as("arn:aws:iam::123456789012:user/bob", customerUpdates(3)));
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body.items).toBe(3);
    // Each caller's repeat answers its own first result.
    expect(answer(await as("arn:aws:iam::123456789012:user/alice", customerUpdates(2)))).toEqual(first);
    expect(world.kustomer.bulkPuts).toHaveLength(2);
  });

  it("checks a command before claiming its key: a body nested 200,000 deep is a 400, and the key stays free", async () => {
    const key = newKey();
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const event = restApiEvent({
      method: "PUT",
      path: "/customers/bulk",
      headers: { "content-type": "application/json", "Idempotency-Key": key },
    });
    const refused = answer(await world.http({ ...event, body: `[{"id":"${customerId(1)}","tags":${deep}}]` }, lambdaContext()));
    expect(refused).toMatchObject({ status: 400, body: { error: { name: "ValidationError", issues: [{ path: "body[0].tags[0]" }] } } });
    expect(answer(await put(key, customerUpdates(1))).status).toBe(202);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("applies a duplicate EventBridge event once, by its event id", async () => {
    const event = eventBridgeEvent({ body: customerUpdates(2) });
    const first = await world.handler(event, lambdaContext());
    const again = await world.handler(event, lambdaContext());
    expect(again).toEqual(first);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("answers the workflow's resubmission of a command nothing was settled for under the command's own key: the first result, nothing sent again", async () => {
    const command = { body: customerUpdates(2), correlationId: `order-sync-${newKey()}` };
    const task = (custom: Record<string, string>) =>
      Object.assign(lambdaContext(), { clientContext: { custom: { caller: WORKFLOW_CALLER, ...custom } } }) as Context;
    const first = (await world.handler(command, task({}))) as { status: string; summary: { bulkIds: string[] } };
    const again = (await world.handler(
      { command, attempt: 1, settled: { accepted: [], unanswered: [] } },
      task({ task: RESUBMIT_TASK }),
    )) as typeof first;
    expect(first.status).toBe("submitted");
    expect(again.summary.bulkIds).toEqual(first.summary.bulkIds);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("applies a direct invoke (or a Step Functions task) once per correlationId", async () => {
    const command = { body: customerUpdates(2), correlationId: `order-sync-${newKey()}` };
    await world.handler(command, lambdaContext());
    await world.handler(command, lambdaContext());
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });
});

describe("the record", () => {
  it("of the largest command, every request in doubt, stays within DynamoDB's 400 KB item, and answers a repeat the same", async () => {
    // Every request accepted with a 201 that cannot be read: 100 operations in doubt, with their reasons.
    world.kustomer.inject({ method: "PUT", times: 1_000, fault: { status: 201, body: '{"data":' } });
    const key = newKey();
    const updates = Array.from({ length: MAX_COMMAND_ITEMS }, (_, index) => ({ id: customerId(index + 1) }));
    const first = answer(await put(key, updates));
    expect(first.status).toBe(202);
    expect(first.body.inDoubtCustomerIds).toHaveLength(MAX_COMMAND_ITEMS);
    expect(answer(await put(key, updates))).toEqual(first);
    expect(world.kustomer.bulkPuts).toHaveLength(MAX_COMMAND_ITEMS / 100);

    const { DynamoDBClient, ScanCommand } = await import("@aws-sdk/client-dynamodb");
    const client = new DynamoDBClient({
      endpoint: world.dynamodb.url,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const { Items = [] } = await client.send(new ScanCommand({ TableName: TABLE }));
    client.destroy();
    // DynamoDB counts an item as its attribute names and values, in UTF-8.
    const sizes = Items.map((item) =>
      Object.entries(item).reduce((sum, [name, value]) => {
        const [inner] = Object.values(value);
        return sum + Buffer.byteLength(name) + Buffer.byteLength(typeof inner === "string" ? inner : JSON.stringify(inner));
      }, 0),
    );
    const largest = Math.max(...sizes);
    expect(largest).toBeGreaterThan(250_000);
    expect(largest).toBeLessThan(400 * 1024);
  }, 60_000);
});

describe("when DynamoDB fails", () => {
  /** DynamoDB fails every call from the moment Kustomer receives the request: the result is never recorded. */
  const tableFailsOnceKustomerHasIt = () =>
    world.kustomer.inject({
      method: "PUT",
      match: () => {
        world.dynamodb.faults.push(...Array(10).fill("ProvisionedThroughputExceededException"));
        return false;
      },
      fault: { status: 500 },
    });

  it("keeps Kustomer's answer when the table fails after it: an accepted submit answers its bulk ids, not a 503", async () => {
    tableFailsOnceKustomerHasIt();
    const accepted = answer(await put(newKey(), customerUpdates(2)));
    expect(accepted).toMatchObject({
      status: 202,
      body: { status: "submitted", operations: [{ bulkId: expect.stringMatching(/^[0-9a-f]{24}$/) }] },
    });
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("keeps Kustomer's answer when the table fails after it: a definitive 422 stays a 422", async () => {
    tableFailsOnceKustomerHasIt();
    world.kustomer.inject({ method: "PUT", fault: { status: 400, body: { errors: [{ code: "bad_request", title: "rejected" }] } } });
    const refused = answer(await put(newKey(), customerUpdates(2)));
    expect(refused).toMatchObject({ status: 422, body: { error: { name: "KustomerRequestError" } } });
  });

  it("answers by the invocation's deadline when the table is slow before sending: a retryable 503, and nothing is sent, even once the table answers", async () => {
    world.dynamodb.latencyMs = 3_000;
    const started = Date.now();
    // 2 s left: the deadline falls 1.5 s in, with the claim still in the table.
    const refused = answer(await put(newKey(), customerUpdates(2), 2_000));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(refused).toMatchObject({
      status: 503,
      body: { error: { name: "IdempotencyUnavailableError", message: expect.stringContaining("nothing was sent") } },
    });
    await sleep(3_500);
    expect(world.kustomer.bulkPuts).toHaveLength(0);
  });

  it("answers Kustomer's answer by the invocation's deadline when the table is slow to record it", async () => {
    world.kustomer.inject({
      method: "PUT",
      match: () => {
        world.dynamodb.latencyMs = 5_000;
        return false;
      },
      fault: { status: 500 },
    });
    const started = Date.now();
    const accepted = answer(await put(newKey(), customerUpdates(2), 3_000));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(accepted).toMatchObject({
      status: 202,
      body: { status: "submitted", operations: [{ bulkId: expect.stringMatching(/^[0-9a-f]{24}$/) }] },
    });
    // The abandoned save finishes in the background (on Lambda the environment would be frozen): let it.
    world.dynamodb.latencyMs = 0;
    await sleep(1_000);
  });

  it("rides out one throttled call (the SDK retries it)", async () => {
    world.dynamodb.faults.push("ProvisionedThroughputExceededException");
    expect(answer(await put(newKey(), customerUpdates(1))).status).toBe(202);
  });

  it.each([
    ["throttled past the SDK's retries", "ProvisionedThroughputExceededException"],
    ["unavailable", "InternalServerError"],
  ])("fails closed when it is %s: a retryable 503, nothing sent; the retry sends once", async (_, fault) => {
    const key = newKey();
    world.dynamodb.faults.push(fault, fault, fault, fault, fault);
    const refused = answer(await put(key, [{ id: customerId(1), tags: ["vip"] }]));
    expect(refused).toMatchObject({ status: 503, body: { error: { name: "IdempotencyUnavailableError" } } });
    expect(world.kustomer.bulkPuts).toHaveLength(0);
    world.dynamodb.faults.length = 0;
    expect(answer(await put(key, [{ id: customerId(1), tags: ["vip"] }])).status).toBe(202);
    expect(answer(await put(key, [{ id: customerId(1), tags: ["vip"] }])).status).toBe(202);
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });
});
