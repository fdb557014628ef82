import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WORKFLOW_CALLER } from "../lambda/contract/names.ts";
import type { StatusResult, SubmitResult } from "../lambda/contract/results.ts";
import { failure as thrown } from "./support/failures.ts";
import {
  API_KEY,
  customerId,
  customerUpdate,
  customerUpdates,
  eventBridgeEvent,
  ROTATED_API_KEY,
  SECRET_ID,
  SENSITIVE,
} from "./support/fixtures.ts";
import { findLeaks, lambdaContext, startWorld, type World } from "./support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  if (!world) return;
  await world.stop();
  expect(findLeaks(world.logs, SENSITIVE)).toEqual([]);
  world = undefined;
});

async function begin(environment: Record<string, string> = {}): Promise<World> {
  world = await startWorld(environment);
  return world;
}

describe("Step Functions task / direct invocation", () => {
  it("sends 250 updates as 100/100/50, each item tagged with _clientRef, and returns the submit result", async () => {
    const { handler, kustomer } = await begin();
    const updates = customerUpdates(250);
    const result = await handler({ body: updates }, lambdaContext());

    const puts = kustomer.bulkPuts;
    expect(puts.map((put) => (put.body as unknown[]).length)).toEqual([100, 100, 50]);
    for (const [index, put] of puts.entries()) {
      expect(put.query).toEqual({});
      expect(put.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(put.headers["content-type"]).toBe("application/json");
      expect(put.body).toEqual(updates.slice(index * 100, index * 100 + 100).map((update) => ({ ...update, _clientRef: update.id })));
    }
    expect(result).toEqual({
      status: "submitted",
      items: 250,
      operations: [100, 100, 50].map((items, index) => ({
        bulkId: expect.stringMatching(/^[0-9a-f]{24}$/),
        status: "queued",
        items,
        customerIds: updates.slice(index * 100, index * 100 + items).map((update) => update.id),
      })),
    });
  });

  it("in ids mode sends the one update with 100 ids per request", async () => {
    const { invoke, kustomer } = await begin();
    const ids = Array.from({ length: 250 }, (_, index) => customerId(index + 1));
    const update = { ...customerUpdate(1), tags: ["migrated"] };
    const result = await invoke<SubmitResult>({ ids, body: [update] }, lambdaContext());
    expect(kustomer.bulkPuts.map((put) => put.query.ids?.split(",").length)).toEqual([100, 100, 50]);
    expect(kustomer.bulkPuts.map((put) => put.query.ids)).toEqual([0, 100, 200].map((start) => ids.slice(start, start + 100).join(",")));
    for (const put of kustomer.bulkPuts) expect(put.body).toEqual([update]);
    expect(result.items).toBe(250);
  });

  it("answers a status request for several operations", async () => {
    const { invoke, kustomer, advance } = await begin();
    kustomer.addCustomers(customerUpdates(150));
    const { operations } = await invoke<SubmitResult>({ body: customerUpdates(150) }, lambdaContext());
    const bulkIds = operations.map((operation) => operation.bulkId as string);
    const pending = await invoke<StatusResult>({ action: "status", bulkIds }, lambdaContext());
    expect(pending.allComplete).toBe(false);
    advance(1_000);
    const status = await invoke<StatusResult>({ action: "status", bulkIds }, lambdaContext());
    expect(status).toEqual({
      allComplete: true,
      operations: [
        { bulkId: bulkIds[0], status: "complete", successCount: 100, failureCount: 0, failures: [], inDoubtCustomerIds: [] },
        { bulkId: bulkIds[1], status: "complete", successCount: 50, failureCount: 0, failures: [], inDoubtCustomerIds: [] },
      ],
      // Final: the count set over every customer of these operations.
      items: 150,
      applied: 150,
      failed: 0,
      inDoubt: 0,
      unsent: 0,
      unchanged: 0,
    });
    // An id asked for twice is one operation: its customers count once.
    const twice = await invoke<StatusResult>({ action: "status", bulkIds: [bulkIds[0], bulkIds[0]] }, lambdaContext());
    expect(twice).toMatchObject({ allComplete: true, items: 100, applied: 100 });
  });

  it("reports ids-mode failures from the batch errors", async () => {
    const { invoke, kustomer, advance } = await begin();
    kustomer.addCustomers([{ id: customerId(1) }]);
    const { operations } = await invoke<SubmitResult>({ ids: [customerId(1), customerId(2)], body: [customerUpdate(1)] }, lambdaContext());
    const bulkIds = [operations[0]!.bulkId as string];
    advance(1_000);
    const status = await invoke<StatusResult>({ action: "status", bulkIds }, lambdaContext());
    expect(status.operations[0]).toMatchObject({
      successCount: 1,
      failureCount: 1,
      failures: [{ id: customerId(2), error: "rejected", detail: "customer not found" }],
    });
  });

  it("throws a ValidationError naming every bad field, and Kustomer is never called", async () => {
    const { handler, kustomer } = await begin();
    const bad = { ...customerUpdate(2), emails: [{ email: "nope" }], gender: "x" };
    const error = await thrown(handler({ body: [customerUpdate(1), bad] }, lambdaContext()));
    expect(error.name).toBe("ValidationError");
    expect(error.issues.map((issue: { path: string }) => issue.path)).toEqual(["body[1].emails[0].email", "body[1].gender"]);
    expect(kustomer.requests).toEqual([]);
  });

  it.each([
    ["an array", [customerUpdate(1)], "the request must be a JSON object"],
    ["a string", "hello", "the request must be a JSON object"],
    [
      "an SNS notification",
      { Records: [{ EventSource: "aws:sns", Sns: { Message: "{}" } }] },
      "this event source is not supported; send the command itself",
    ],
  ])("refuses an event of no known shape (%s) with a ValidationError", async (_, event, message) => {
    const { handler, kustomer } = await begin();
    const error = await thrown(handler(event, lambdaContext()));
    expect(error.name).toBe("ValidationError");
    expect(error.issues[0].message).toBe(message);
    expect(kustomer.requests).toEqual([]);
  });

  it("answers an unexpected failure as InternalError and logs where it happened, never its message", async () => {
    const { handler, logs } = await begin();
    // A bug's error, whose message quotes a customer, thrown from inside the function's own code.
    const event = {
      get body(): never {
        throw new TypeError("cannot read Ada Lovelace");
      },
    };
    const error = await thrown(handler(event, lambdaContext()));
    expect(error.name).toBe("InternalError");
    const logged = logs
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((line) => line.message === "unexpected error");
    expect(logged).toMatchObject({ level: "ERROR", errorType: "TypeError" });
    expect(logged.frames[0]).toMatch(/handler\.test\.ts:\d+:\d+/);
    expect(logged.frames.some((frame: string) => /lambda\/contract\/validation\.ts:\d+:\d+/.test(frame))).toBe(true);
  });

  it("answers the workflow a bug as InternalError, with no lists of what was or was not sent (not known)", async () => {
    const { invoke } = await begin();
    const event = {
      get body(): never {
        throw new TypeError("cannot read Ada Lovelace");
      },
    };
    const context = Object.assign(lambdaContext(), { clientContext: { custom: { caller: WORKFLOW_CALLER } } }) as Context;
    expect(await invoke(event, context)).toEqual({
      status: "failed",
      retryable: false,
      retryAfterSeconds: 0,
      outcome: { error: { name: "InternalError", message: "internal error" } },
    });
  });

  it.each<[string, (kustomer: World["kustomer"]) => void, string, Record<string, unknown>]>([
    ["403", (kustomer) => kustomer.inject({ fault: { status: 403 } }), "KustomerAuthError", { retryable: false }],
    ["409", (kustomer) => kustomer.inject({ fault: { status: 409 } }), "KustomerRequestError", { kustomerStatus: 409, retryable: false }],
    [
      "429 twice",
      (kustomer) => kustomer.inject({ times: 2, fault: { status: 429, headers: { "retry-after": "0" } } }),
      "KustomerRateLimitError",
      { retryable: true, kustomerStatus: 429 },
    ],
    [
      "503 twice",
      (kustomer) => kustomer.inject({ times: 2, fault: { status: 503 } }),
      "KustomerUnavailableError",
      { timedOut: false, retryable: true },
    ],
  ])("throws the contract's named error when Kustomer answers %s", async (_case, arrange, name, properties) => {
    const { handler, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "300" });
    arrange(kustomer);
    const error = await thrown(handler({ body: customerUpdates(1) }, lambdaContext()));
    expect(error.name).toBe(name);
    expect(error).toMatchObject(properties);
  });

  it("rides out a 429 with Retry-After, and a 503, then succeeds", async () => {
    const { invoke, kustomer } = await begin();
    kustomer.inject({ fault: { status: 429, headers: { "retry-after": "1" } } });
    kustomer.inject({ fault: { status: 503 } });
    const started = Date.now();
    const result = await invoke<SubmitResult>({ body: customerUpdates(1) }, lambdaContext());
    expect(result.status).toBe("submitted");
    expect(kustomer.bulkPuts).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("gives up on a persistent 500 within the invocation's remaining time", async () => {
    const { handler, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "10" });
    kustomer.inject({ times: 100, fault: { status: 500 } });
    const started = Date.now();
    const error = await thrown(handler({ body: customerUpdates(1) }, lambdaContext(2_000)));
    expect(error.name).toBe("KustomerUnavailableError");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it.each([
    ["no answer twice", { hang: true } as const],
    ["a reset after the request went out, twice", { reset: true } as const],
    ["a 201 that cannot be read", { status: 201, body: '{"data":{"type":"bulk","id":' }],
    ["a gateway's 502 twice", { status: 502 }],
  ])(
    "answers %s as in doubt, never as not sent: an operation with no bulk id, its customers listed, sent no more than the client's attempts",
    async (_case, fault) => {
      const { invoke, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "300" });
      kustomer.inject({ times: 2, fault });
      const updates = customerUpdates(1);
      const result = await invoke<SubmitResult>({ body: updates }, lambdaContext());
      expect(result).toMatchObject({
        status: "submitted",
        operations: [{ bulkId: null, status: "inDoubt", items: 1, customerIds: [updates[0]!.id] }],
        inDoubtCustomerIds: [updates[0]!.id],
      });
      // An answered 2xx is never sent again.
      expect(kustomer.bulkPuts).toHaveLength("status" in fault && fault.status === 201 ? 1 : 2);
    },
  );

  it("stops waiting for a hanging Kustomer within the invocation's remaining time, its customers in doubt", async () => {
    const { invoke, kustomer } = await begin({ KUSTOMER_TIMEOUT_MS: "60000" });
    kustomer.inject({ times: 10, fault: { hang: true } });
    const started = Date.now();
    const result = await invoke<SubmitResult>({ body: customerUpdates(1) }, lambdaContext(1_500));
    expect(result.operations).toEqual([expect.objectContaining({ bulkId: null, status: "inDoubt" })]);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("a Distributed Map batch", () => {
  it("submits the batch's valid Items as one command, each invalid one failing alone, and throws named errors for the map to count", async () => {
    const { handler, invoke, kustomer } = await begin();
    const result = await invoke<SubmitResult>({ Items: customerUpdates(100), BatchInput: { job: "x" } }, lambdaContext());
    expect(result).toMatchObject({ status: "submitted", items: 100 });
    expect(result.rejected).toBeUndefined();
    expect(kustomer.bulkPuts).toHaveLength(1);

    const items: Array<Record<string, unknown>> = customerUpdates(5);
    items[1] = { ...items[1], gender: "x" };
    items[3] = { name: "no id" };
    items[4] = { ...items[0] };
    const partial = await invoke<SubmitResult>({ Items: items }, lambdaContext());
    expect(partial).toMatchObject({ status: "submitted", items: 2 });
    expect(partial.rejected).toEqual([
      { index: 1, id: customerId(2), reason: expect.stringMatching(/^gender: /) },
      { index: 3, reason: expect.stringMatching(/^id: /) },
      { index: 4, id: customerId(1), reason: "id: is the same customer as an earlier line of its batch" },
    ]);
    expect((kustomer.bulkPuts.at(-1)!.body as Array<{ id: string }>).map((item) => item.id)).toEqual([customerId(1), customerId(3)]);

    // Nothing valid: nothing sent, every line reported.
    const sent = kustomer.bulkPuts.length;
    const none = await handler({ Items: [{ id: "nope" }] }, lambdaContext());
    expect(none).toEqual({
      status: "submitted",
      items: 0,
      operations: [],
      rejected: [{ index: 0, id: "nope", reason: expect.stringMatching(/^id: must be a Kustomer id/) }],
    });
    expect(kustomer.bulkPuts).toHaveLength(sent);

    // A failure of Kustomer is the whole batch's: the map counts it and retries it.
    kustomer.inject({ fault: { status: 403 } });
    expect(await thrown(handler({ Items: customerUpdates(2) }, lambdaContext()))).toMatchObject({ name: "KustomerAuthError" });
  });
});

describe("EventBridge", () => {
  it("submits the event's detail and returns the result", async () => {
    const { handler, kustomer } = await begin();
    const result = await handler(eventBridgeEvent({ body: customerUpdates(2) }), lambdaContext());
    expect(result).toMatchObject({ status: "submitted", items: 2 });
    expect(kustomer.bulkPuts[0]?.body).toEqual(customerUpdates(2).map((update) => ({ ...update, _clientRef: update.id })));
  });

  it("throws for another detail-type and for a bad detail, so the event goes to the DLQ", async () => {
    const { handler, kustomer } = await begin();
    const wrongType = await thrown(handler(eventBridgeEvent({ body: customerUpdates(1) }, "ECR Image Action"), lambdaContext()));
    expect(wrongType).toMatchObject({
      name: "ValidationError",
      issues: [{ path: "detail-type", message: 'must be "Customer Bulk Update Requested"' }],
    });
    const badDetail = await thrown(handler(eventBridgeEvent({ body: [{ id: "x" }] }), lambdaContext()));
    expect(badDetail).toMatchObject({ name: "ValidationError", issues: [{ path: "body[0].id" }] });
    expect(kustomer.requests).toEqual([]);
  });

  it("throws a retryable named error when Kustomer stays down", async () => {
    const { handler, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "2" });
    kustomer.inject({ times: 2, fault: { status: 503 } });
    const error = await thrown(handler(eventBridgeEvent({ body: customerUpdates(1) }), lambdaContext()));
    expect(error).toMatchObject({ name: "KustomerUnavailableError", retryable: true });
  });
});

describe("the API key", () => {
  it("is fetched once for many warm invocations", async () => {
    const { handler, secrets } = await begin();
    for (let i = 0; i < 10; i += 1) await handler({ body: customerUpdates(1) }, lambdaContext());
    expect(secrets.calls).toBe(1);
  });

  it("is fetched while the command is validated, so its round trip overlaps the validation", async () => {
    const { handler, secrets, kustomer } = await begin();
    // Refused, yet the key's fetch had started alongside: the next invocation finds it ready.
    await thrown(handler({ body: [{ id: "bad" }] }, lambdaContext()));
    await vi.waitFor(() => expect(secrets.calls).toBe(1));
    expect(kustomer.requests).toEqual([]);
    await handler({ body: customerUpdates(1) }, lambdaContext());
    expect(secrets.calls).toBe(1);
  });

  it("is fetched again when Kustomer answers 401 after a rotation, and the request succeeds", async () => {
    const { handler, invoke, secrets, kustomer } = await begin();
    await handler({ body: customerUpdates(1) }, lambdaContext());
    secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: ROTATED_API_KEY }));
    kustomer.apiKeys.clear();
    kustomer.apiKeys.add(ROTATED_API_KEY);
    const result = await invoke<SubmitResult>({ body: customerUpdates(1) }, lambdaContext());
    expect(result.status).toBe("submitted");
    expect(secrets.calls).toBe(2);
    expect(kustomer.bulkPuts.at(-1)?.headers.authorization).toBe(`Bearer ${ROTATED_API_KEY}`);
  });

  it("gives KustomerAuthError when the fresh key is refused too", async () => {
    const { handler, kustomer, secrets } = await begin();
    kustomer.apiKeys.clear();
    const error = await thrown(handler({ body: customerUpdates(1) }, lambdaContext()));
    expect(error).toMatchObject({ name: "KustomerAuthError", kustomerStatus: 401 });
    expect(secrets.calls).toBe(2);
  });

  it("gives ConfigurationError for a missing secret or field, never quoting the secret", async () => {
    const { handler, secrets } = await begin();
    secrets.secrets.set(SECRET_ID, JSON.stringify({ token: API_KEY }));
    const noField = await thrown(handler({ body: customerUpdates(1) }, lambdaContext()));
    expect(noField.name).toBe("ConfigurationError");
    expect(noField.message).not.toContain(API_KEY);
    secrets.secrets.delete(SECRET_ID);
    expect((await thrown(handler({ body: customerUpdates(1) }, lambdaContext()))).name).toBe("ConfigurationError");
  });

  it("gives a retryable SecretUnavailableError when Secrets Manager keeps throttling", async () => {
    const { handler, secrets } = await begin();
    secrets.faults.push(...Array(5).fill("ThrottlingException"));
    const error = await thrown(handler({ body: customerUpdates(1) }, lambdaContext()));
    expect(error).toMatchObject({ name: "SecretUnavailableError", retryable: true });
  });

  it("can come from KUSTOMER_API_KEY locally, without Secrets Manager", async () => {
    const { invoke, secrets, kustomer } = await begin({ KUSTOMER_SECRET_ID: "", KUSTOMER_API_KEY: API_KEY });
    expect((await invoke<SubmitResult>({ body: customerUpdates(1) }, lambdaContext())).status).toBe("submitted");
    expect(secrets.calls).toBe(0);
    expect(kustomer.bulkPuts).toHaveLength(1);
  });
});

describe("configuration", () => {
  it("is checked before anything is sent; a bad value is a ConfigurationError naming the variable", async () => {
    const { handler, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "many" });
    const error = await thrown(handler({ body: customerUpdates(1) }, lambdaContext()));
    expect(error.name).toBe("ConfigurationError");
    expect(error.message).toContain("KUSTOMER_MAX_ATTEMPTS");
    expect(kustomer.requests).toEqual([]);
  });

  it("applies MAX_ITEMS", async () => {
    const { handler } = await begin({ MAX_ITEMS: "5" });
    const error = await thrown(handler({ body: customerUpdates(6) }, lambdaContext()));
    expect(error).toMatchObject({ name: "ValidationError", httpStatus: 413 });
  });
});

describe("metrics", () => {
  const emf = (logs: string[]) => logs.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, any>);

  it("are published as CloudWatch EMF: items, bulk requests, retries, 429s and failures by error name", async () => {
    const { handler, kustomer, logs } = await begin();
    kustomer.inject({ fault: { status: 429, headers: { "retry-after": "0" } } });
    await handler({ body: customerUpdates(120) }, lambdaContext());
    const [submitted] = emf(logs);
    expect(submitted?._aws.CloudWatchMetrics[0].Namespace).toBe("KustomerBulkUpdate");
    // Values added more than once in an invocation are sent as a list, which CloudWatch sums.
    const total = (value: number | number[]) => [value].flat().reduce((sum, each) => sum + each, 0);
    expect(["ItemsSubmitted", "BulkRequests", "Retries", "RateLimited"].map((name) => total(submitted?.[name]))).toEqual([120, 2, 1, 1]);
    // The org's budget left at each answer with headers (the injected 429 has none): two answers.
    expect([submitted?.RateLimitRemaining].flat()).toHaveLength(2);
    expect(submitted?._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: "RateLimitRemaining", Unit: "Count" });

    await thrown(handler({ body: [{ id: "bad" }] }, lambdaContext()));
    const failure = emf(logs).find((blob) => "Failures" in blob);
    expect(failure).toMatchObject({ Failures: 1, ErrorName: "ValidationError" });
    expect(failure?._aws.CloudWatchMetrics[0].Dimensions[0]).toContain("ErrorName");
  });
});

describe("logs", () => {
  it("keep each invocation's own request id when invocations overlap in one process, as under npm start", async () => {
    const { invoke, logs, kustomer } = await begin();
    kustomer.latencyMs = 100;
    const contexts = Array.from({ length: 4 }, () => lambdaContext());
    // Each starts before the others end: the last context set must not label them all.
    await Promise.all(contexts.map((context, index) => invoke({ body: customerUpdates(index + 1) }, context)));
    const done = logs
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .filter((line) => line.message === "request done");
    expect(done.map((line) => [line.function_request_id, line.items]).sort()).toEqual(
      contexts.map((context, index) => [context.awsRequestId, index + 1]).sort(),
    );
  });

  it("are structured JSON with the request id, trigger, counts, retries and bulk ids", async () => {
    const { invoke, logs, kustomer } = await begin();
    kustomer.inject({ fault: { status: 503 } });
    const context = lambdaContext();
    const result = await invoke<SubmitResult>({ body: customerUpdates(120) }, context);
    const lines = logs.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const done = lines.find((line) => line.message === "request done");
    expect(done).toMatchObject({
      level: "INFO",
      service: "kustomer-bulk-update",
      function_request_id: context.awsRequestId,
      trigger: "direct",
      outcome: "submitted",
      items: 120,
      chunks: 2,
      retries: 1,
      bulkIds: result.operations.map((operation) => operation.bulkId),
      durationMs: expect.any(Number),
    });
    // One line per invocation at INFO; the per-request detail is at DEBUG.
    expect(lines.filter((line) => line.level === "INFO")).toHaveLength(1);
  });

  it("count each request's own retries, also when requests run side by side (as npm start runs them)", async () => {
    const { invoke, logs, kustomer } = await begin();
    kustomer.inject({ fault: { status: 503 } });
    await Promise.all([invoke({ body: customerUpdates(3) }, lambdaContext()), invoke({ body: customerUpdates(3) }, lambdaContext())]);
    const done = logs.filter((line) => line.includes('"request done"')).map((line) => JSON.parse(line));
    expect(done.map((line) => line.retries).sort()).toEqual([0, 1]);
  });

  it("are one summary line per request, a failed one with retries included", async () => {
    const { handler, logs, kustomer } = await begin({ KUSTOMER_MAX_ATTEMPTS: "3" });
    kustomer.inject({ times: 3, fault: { status: 503 } });
    await thrown(handler({ body: customerUpdates(3) }, lambdaContext()));
    const lines = logs.filter((line) => line.startsWith("{") && !line.includes('"_aws"')).map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({ level: "ERROR", message: "request failed", error: "KustomerUnavailableError", kustomerStatus: 503 }),
    ]);
    expect(JSON.stringify(lines[0]).length).toBeLessThan(600);
  });

  it("never hold the key or personal data, even when Kustomer quotes them back", async () => {
    const { handler, kustomer, logs } = await begin();
    kustomer.inject({
      fault: {
        status: 400,
        body: { errors: [{ code: "bad_request", title: `ada.1@example.com is taken; key ${API_KEY}`, detail: "Ada Lovelace 1" }] },
      },
    });
    const error = await thrown(handler({ body: customerUpdates(3) }, lambdaContext()));
    // The message names Kustomer's code only; its own words travel, redacted, in the typed details.
    expect(error.message).toBe("Kustomer rejected PUT /v1/customers/bulk with 400 (bad_request)");
    expect(error.details[0].title).toBe("[email] is taken; key [key]");
    kustomer.inject({ fault: { status: 500 } });
    await handler({ body: customerUpdates(3) }, lambdaContext());
    expect(logs.length).toBeGreaterThan(3);
    expect(findLeaks(logs, SENSITIVE)).toEqual([]);
  });
});
