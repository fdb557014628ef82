// Every trigger against every fault Kustomer or Secrets Manager can produce: the outcome the contract
// promises (success after retry, customers in doubt when a write went unanswered, or the named error
// with its HTTP status), within the deadline, with nothing leaked to the caller and no unhandled rejection.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { StatusResult, SubmitResult } from "../lambda/contract/results.ts";
import type { FaultRule } from "../local/sandbox-faults.ts";
import { API_KEY, customerUpdates, eventBridgeEvent, httpApiEvent, ROTATED_API_KEY, SECRET_ID } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const DEADLINE_MS = 5_000;
const ITEMS = 150;

type Outcome = { success: true } | { inDoubt: true } | { error: string; httpStatus: number };
type Progress = { acceptedBulkIds: string[]; inDoubtCustomerIds: string[]; unsentCustomerIds: string[] };

/** A submit result as its caller reads it: success, or (some customers unanswered) in doubt, with what was accepted. */
function answered(result: SubmitResult): { outcome: Outcome; progress?: Progress } {
  const acceptedBulkIds = result.operations.flatMap((operation) => (operation.bulkId === null ? [] : [operation.bulkId]));
  const inDoubtCustomerIds = result.inDoubtCustomerIds ?? [];
  if (!inDoubtCustomerIds.length) return { outcome: { success: true } };
  return { outcome: { inDoubt: true }, progress: { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds: [] } };
}

interface Trigger {
  name: string;
  /** Runs the command through the trigger and reports the outcome as its caller would see it. */
  run(world: World, command: unknown): Promise<{ outcome: Outcome; callerText: string; progress?: Progress }>;
}

const triggers: Trigger[] = [
  {
    name: "HTTP (payload 2.0)",
    async run(world, command) {
      const { body } = command as { body: unknown[] };
      const response = await world.http(httpApiEvent({ method: "PUT", path: "/customers/bulk", body }), lambdaContext(DEADLINE_MS));
      const parsed = JSON.parse(response.body);
      if (response.statusCode < 300) return { ...answered(parsed), callerText: response.body };
      const { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds } = parsed.error;
      return {
        outcome: { error: parsed.error.name, httpStatus: response.statusCode },
        callerText: response.body,
        progress: acceptedBulkIds ? { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds } : undefined,
      };
    },
  },
  ...(["EventBridge", "Step Functions"] as const).map((name) => ({
    name,
    async run(world: World, command: unknown) {
      const event = name === "EventBridge" ? eventBridgeEvent(command) : command;
      try {
        const result = (await world.handler(event, lambdaContext(DEADLINE_MS))) as SubmitResult;
        return { ...answered(result), callerText: "" };
      } catch (error) {
        const { name: errorName, message, httpStatus, progress } = error as Error & { httpStatus: number; progress?: Progress };
        // What Lambda hands Step Functions and EventBridge: errorType and errorMessage.
        return { outcome: { error: errorName, httpStatus }, callerText: `${errorName} ${message}`, progress };
      }
    },
  })),
];

const soon = () => String(Math.ceil(Date.now() / 1000) + 1);
const kustomerFaults: Array<[string, () => FaultRule[], Outcome]> = [
  ["429 with Retry-After", () => [{ fault: { status: 429, headers: { "retry-after": "1" } } }], { success: true }],
  ["429 without Retry-After", () => [{ fault: { status: 429 } }], { success: true }],
  [
    "x-ratelimit-remaining: 0 with a reset time",
    () => [
      { fault: { status: 201, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": soon() }, body: { data: { id: "b-1" } } } },
    ],
    { success: true },
  ],
  ["500 once", () => [{ fault: { status: 500 } }], { success: true }],
  ["502 once", () => [{ fault: { status: 502 } }], { success: true }],
  ["503 once", () => [{ fault: { status: 503 } }], { success: true }],
  ["504 once", () => [{ fault: { status: 504 } }], { success: true }],
  ["a connection reset before the answer", () => [{ fault: { reset: true } }], { success: true }],
  // A 201 whose body was cut off was accepted: not sent again, its customers in doubt.
  ["a connection reset mid-response", () => [{ fault: { reset: true, midResponse: true } }], { inDoubt: true }],
  // Unanswered writes: the customers are in doubt (CONTRACT §2.6), neither failed nor "not sent".
  ["connection resets for good", () => [{ times: 100, fault: { reset: true, midResponse: true } }], { inDoubt: true }],
  ["500 for good", () => [{ times: 100, fault: { status: 500 } }], { error: "KustomerUnavailableError", httpStatus: 503 }],
  // A gateway's timeout: the write may have reached Kustomer behind it.
  ["504 for good", () => [{ times: 100, fault: { status: 504 } }], { inDoubt: true }],
  ["a server that never answers", () => [{ times: 100, fault: { hang: true } }], { inDoubt: true }],
  ["a 201 that is not JSON", () => [{ times: 100, fault: { status: 201, body: "<html>gateway</html>" } }], { inDoubt: true }],
  ["a 200 that is not the bulk shape", () => [{ times: 100, fault: { status: 200, body: { ok: true } } }], { inDoubt: true }],
  ["403", () => [{ fault: { status: 403 } }], { error: "KustomerAuthError", httpStatus: 502 }],
  ["404", () => [{ fault: { status: 404 } }], { error: "KustomerRequestError", httpStatus: 422 }],
  ["409", () => [{ fault: { status: 409 } }], { error: "KustomerRequestError", httpStatus: 422 }],
  ["413", () => [{ fault: { status: 413 } }], { error: "KustomerRequestError", httpStatus: 422 }],
  [
    "422 with meta.subErrors",
    () => [
      {
        fault: {
          status: 422,
          body: {
            errors: [
              {
                status: 422,
                code: "invalid",
                title: "Invalid",
                meta: { subErrors: [{ title: "bad email", source: { pointer: "/0/emails/0/email" } }] },
              },
            ],
          },
        },
      },
    ],
    { error: "KustomerRequestError", httpStatus: 422 },
  ],
];

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on("unhandledRejection", onUnhandled));
afterAll(() => process.off("unhandledRejection", onUnhandled));
beforeEach(() => {
  unhandled = [];
});
afterEach(() => expect(unhandled).toEqual([]));

function expectNothingLeaked(callerText: string) {
  expect(callerText).not.toContain(API_KEY);
  expect(callerText).not.toMatch(/127\.0\.0\.1|localhost|\.ts:\d+|\bat \w+ \(/);
  expect(callerText).not.toContain(new URL(process.env.KUSTOMER_BASE_URL as string).port);
}

describe.each(triggers)("$name", (trigger) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "3", KUSTOMER_TIMEOUT_MS: "300" });
  });
  beforeEach(() => world.kustomer.reset());
  afterAll(() => world.stop());

  it.each(kustomerFaults)("Kustomer: %s", async (_, rules, expected) => {
    for (const rule of rules()) world.kustomer.inject({ path: /customers\/bulk/, ...rule });
    const started = Date.now();
    const { outcome, callerText, progress } = await trigger.run(world, { body: customerUpdates(ITEMS) });
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
    expect(outcome).toEqual(expected);
    expectNothingLeaked(callerText);
    expect(world.kustomer.bulkPuts.length).toBeGreaterThan(0);
    // Whatever happened, every item is accounted for, once: accepted by Kustomer, in doubt, or reported unsent.
    if (progress) {
      const accepted = progress.acceptedBulkIds.flatMap((bulkId) => world.kustomer.operations.get(bulkId)?.customerIds ?? []);
      expect([...accepted, ...(progress.inDoubtCustomerIds ?? []), ...progress.unsentCustomerIds].sort()).toEqual(
        customerUpdates(ITEMS)
          .map((update) => update.id)
          .sort(),
      );
    }
    // A write Kustomer answered 2xx is never sent again: one PUT per request of 100.
    if ("inDoubt" in expected && /that is not/.test(_)) expect(world.kustomer.bulkPuts).toHaveLength(Math.ceil(ITEMS / 100));
  });

  it("Kustomer: 401 after the key was rotated, then success with the new key", async () => {
    await trigger.run(world, { body: customerUpdates(1) });
    world.secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: ROTATED_API_KEY }));
    world.kustomer.apiKeys.clear();
    world.kustomer.apiKeys.add(ROTATED_API_KEY);
    const { outcome } = await trigger.run(world, { body: customerUpdates(ITEMS) });
    expect(outcome).toEqual({ success: true });
    world.secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: API_KEY }));
    world.kustomer.apiKeys.add(API_KEY);
  });
});

const secretFaults: Array<[string, (world: World) => void, Outcome]> = [
  [
    "Secrets Manager throttling",
    (world) => world.secrets.faults.push(...Array(10).fill("ThrottlingException")),
    { error: "SecretUnavailableError", httpStatus: 503 },
  ],
  ["ResourceNotFoundException", (world) => world.secrets.secrets.delete(SECRET_ID), { error: "ConfigurationError", httpStatus: 500 }],
  [
    "a secret without the expected field",
    (world) => world.secrets.secrets.set(SECRET_ID, JSON.stringify({ token: API_KEY })),
    { error: "ConfigurationError", httpStatus: 500 },
  ],
];

describe.each(triggers)("$name, cold start", (trigger) => {
  it.each(secretFaults)("%s", async (_, arrange, expected) => {
    const world = await startWorld();
    try {
      arrange(world);
      const { outcome, callerText } = await trigger.run(world, { body: customerUpdates(ITEMS) });
      expect(outcome).toEqual(expected);
      expectNothingLeaked(callerText);
      expect(world.kustomer.requests).toEqual([]);
    } finally {
      await world.stop();
    }
  });
});

describe("a partial failure", () => {
  it("names the accepted bulk ids and the unsent customers, and re-sending the whole command is safe", async () => {
    const world = await startWorld({ KUSTOMER_CONCURRENCY: "1" });
    try {
      world.kustomer.addCustomers(customerUpdates(250));
      const updates = customerUpdates(250);
      world.kustomer.inject({
        match: (request) => JSON.stringify(request.body).includes(updates[200]!.id),
        times: 100,
        fault: { status: 500 },
      });
      const error = await world.handler({ body: updates }, lambdaContext(DEADLINE_MS)).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: "KustomerUnavailableError" });
      const { acceptedBulkIds, unsentCustomerIds } = (error as { progress: Progress }).progress;
      expect(acceptedBulkIds).toHaveLength(2);
      expect(unsentCustomerIds).toEqual(updates.slice(200).map((update) => update.id));

      world.kustomer.reset();
      const again = await world.invoke<SubmitResult>({ body: updates }, lambdaContext(DEADLINE_MS));
      expect(again).toMatchObject({ status: "submitted", items: 250 });
      world.advance(1_000);
      const status = await world.invoke<StatusResult>(
        { action: "status", bulkIds: [...acceptedBulkIds, ...again.operations.map((operation) => operation.bulkId as string)] },
        lambdaContext(),
      );
      expect(status.allComplete).toBe(true);
      // Applying the first 200 twice changed nothing and failed nothing.
      expect(status.operations.every((operation) => operation.failureCount === 0)).toBe(true);
      expect(world.kustomer.customers.get(updates[0]!.id)).toMatchObject({ tags: ["vip"] });
    } finally {
      await world.stop();
    }
  });
});

describe("the key", () => {
  it("only ever travels in the Authorization header, to the configured host", async () => {
    const world = await startWorld();
    try {
      await world.handler({ body: customerUpdates(150) }, lambdaContext());
      for (const request of world.kustomer.requests) {
        const { authorization, ...otherHeaders } = request.headers;
        expect(authorization).toBe(`Bearer ${API_KEY}`);
        expect(JSON.stringify([otherHeaders, request.query, request.body, request.path])).not.toContain(API_KEY);
      }
    } finally {
      await world.stop();
    }
  });
});
