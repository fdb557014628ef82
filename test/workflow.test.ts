// The workflow as synthesized, executed by an ASL interpreter with the real handler against the
// Kustomer sandbox. Every run ends with exactly one outcome event (CONTRACT §3.2): success with
// per-customer failures, a long failure list kept in S3, an outage, a partial submit, a function that
// never answers, an operation that never completes, the largest commands StartExecution accepts (every
// state under 256 KiB), and a dry run.
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_WORKFLOW_COMMAND_BYTES } from "../lambda/adapters/aws/workflow-starter.ts";
import { KustomerUnavailableError } from "../lambda/contract/kustomer-errors.ts";
import { COMPLETED_DETAIL_TYPE, FAILED_DETAIL_TYPE, OUTCOME_SOURCE } from "../lambda/contract/names.ts";
import { WORKFLOW_RESUBMITS } from "../lambda/contract/retry-policy.ts";
import { MAX_LISTED } from "../lambda/core/listed.ts";
import { toFailure } from "../lambda/events/workflow-answers.ts";
import { definitionFromTemplate, type Run, runStateMachine } from "../local/state-machines.ts";
import { shiftedClock } from "./support/clock.ts";
import { customerId, customerUpdates } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

/** Step Functions' limit for a state's input or output, and for StartExecution's input. */
const STATE_LIMIT = 256 * 1024;
/** EventBridge's limit for one entry. */
const EVENT_LIMIT = 256 * 1024;
const BUCKET = "kbu-job-bucket";

let world: World;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "1000", RESULTS_BUCKET_NAME: BUCKET });
});
beforeEach(() => {
  world.kustomer.reset();
  world.s3.objects.clear();
});
afterAll(() => world.stop());

const byDefault = definitionFromTemplate({}, "Workflow");
/** Each status check moves Kustomer's clock on, as the 30 s wait would. */
const execute = (input: unknown, executionName: string, definition = byDefault, beforeTask?: (state: string) => void): Promise<Run> =>
  runStateMachine(definition, input as Record<string, unknown>, world.handler, () => lambdaContext(), {
    executionName,
    beforeTask: (state) => {
      if (state === "CheckStatus") world.advance(500);
      beforeTask?.(state);
    },
  });

/** Exactly one outcome event, from the service's own source, within EventBridge's limit. */
function outcomeOf(run: Run): { detailType: string; detail: Record<string, any> } {
  expect(run.events).toHaveLength(1);
  const [event] = run.events;
  expect(event!.source).toBe(OUTCOME_SOURCE);
  expect(event!.bytes).toBeLessThanOrEqual(EVENT_LIMIT);
  return event!;
}

function expectWithinLimits(run: Run): void {
  expect(run.sizes.length).toBeGreaterThan(0);
  for (const { state, inputBytes, outputBytes } of run.sizes) {
    expect({ state, inputBytes: inputBytes <= STATE_LIMIT, outputBytes: outputBytes <= STATE_LIMIT }).toEqual({
      state,
      inputBytes: true,
      outputBytes: true,
    });
  }
  for (const { state, bytes } of run.taskResults) expect({ state, within: bytes <= STATE_LIMIT }).toEqual({ state, within: true });
  for (const { state, bytes } of run.taskInputs) expect({ state, input: bytes <= STATE_LIMIT }).toEqual({ state, input: true });
}

/** How many bulk requests carried each customer. */
function sendsPerCustomer(): Map<string, number> {
  const sends = new Map<string, number>();
  for (const put of world.kustomer.bulkPuts)
    for (const { id } of put.body as Array<{ id: string }>) sends.set(id, (sends.get(id) ?? 0) + 1);
  return sends;
}
/** Reads of the first bulk operation read, and of no other. */
function firstOperationRead(): (request: { path: string }) => boolean {
  let first: string | undefined;
  return ({ path }) => path === (first ??= path);
}
const carrying = (id: string) => (request: { body: unknown }) => (request.body as Array<{ id: string }>).some((item) => item.id === id);

describe("the workflow, executed", () => {
  it("follows the operations until applied, and announces Completed with every customer Kustomer failed", async () => {
    const updates = customerUpdates(150);
    // Customers 149 and 150 do not exist in Kustomer, so their updates fail there.
    world.kustomer.addCustomers(updates.slice(0, 148).map(({ id }) => ({ id })));
    const run = await execute({ body: updates }, "exec-success");
    expect(run.error).toBeUndefined();
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toEqual({
      correlationId: "exec-success",
      items: 150,
      applied: 148,
      failed: 2,
      failures: [
        { id: customerId(149), error: "rejected" },
        { id: customerId(150), error: "rejected" },
      ],
      bulkIds: [expect.stringMatching(/^[0-9a-f]{24}$/), expect.stringMatching(/^[0-9a-f]{24}$/)],
      inDoubt: 0,
      inDoubtCustomerIds: [],
      unsent: 0,
      unchanged: 0,
    });
    // The run's output is the event's detail, for callers who start it and wait.
    expect(run.output).toEqual(detail);
    expect(run.visited.filter((state) => state === "CheckStatus").length).toBeGreaterThanOrEqual(2);
    expectWithinLimits(run);
  });

  it("counts only what Kustomer names: a request that went unanswered and counts that name no one are in doubt, and every customer is counted once", async () => {
    const updates = customerUpdates(200);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    // The second request never gets an answer; the first's results count 60 updated and 10 failed, 5 of them named.
    world.kustomer.inject({
      method: "PUT",
      match: (request) => JSON.stringify(request.body).includes(updates[150]!.id),
      times: 10,
      fault: { hang: true },
    });
    const itemised = updates.slice(0, 5).map(({ id }) => ({ _clientRef: id, objectId: id, status: "error", error: "customer not found" }));
    world.kustomer.inject({
      method: "GET",
      path: /\/batches$/,
      times: 10,
      fault: {
        status: 200,
        body: { data: [{ successCount: 60, failureCount: 10, objectIds: updates.slice(0, 100).map(({ id }) => id), results: itemised }] },
      },
    });

    const run = await execute({ body: updates }, "exec-counts");

    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toMatchObject({ items: 200, applied: 0, failed: 5, inDoubt: 195, unsent: 0, unchanged: 0 });
    expect(detail.applied + detail.failed + detail.inDoubt + detail.unsent + detail.unchanged).toBe(detail.items);
    expect(new Set(detail.inDoubtCustomerIds)).toEqual(new Set(updates.slice(5).map(({ id }) => id)));
    expectWithinLimits(run);
  });

  it("completes a command whose every request went unanswered, with no bulk id to follow, every customer in doubt", async () => {
    const updates = customerUpdates(2);
    world.kustomer.inject({ method: "PUT", times: 10, fault: { hang: true } });
    const run = await execute({ body: updates }, "exec-all-in-doubt");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toMatchObject({
      items: 2,
      applied: 0,
      failed: 0,
      inDoubt: 2,
      inDoubtCustomerIds: updates.map(({ id }) => id),
      bulkIds: [],
    });
  });

  it("takes the command's own correlationId over the execution name", async () => {
    world.kustomer.addCustomers([{ id: customerId(1) }]);
    const run = await execute({ body: customerUpdates(1), correlationId: "order-sync-2026-11-27" }, "exec-named");
    expect(outcomeOf(run).detail).toMatchObject({ correlationId: "order-sync-2026-11-27", items: 1, applied: 1, failed: 0, failures: [] });
  });

  it(`lists ${MAX_LISTED} failures in the event and keeps the whole list in S3 past that`, async () => {
    // None of these customers exists (the sandbox's seeds are the first ones): Kustomer fails every one.
    const updates = Array.from({ length: 1_500 }, (_, index) => ({ id: customerId(2_001 + index), tags: ["vip"] }));
    const run = await execute({ body: updates }, "exec-many-failures");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toMatchObject({ items: 1_500, applied: 0, failed: 1_500 });
    expect(detail.failures).toHaveLength(MAX_LISTED);
    expect(detail.failuresObject).toMatch(
      new RegExp(`^s3://${BUCKET}/results/outcomes/\\d{4}-\\d{2}-\\d{2}/[0-9a-f-]{36}-failures\\.json$`),
    );
    const stored = JSON.parse(world.s3.objects.get(detail.failuresObject.slice("s3://".length))?.toString("utf8") ?? "[]") as Array<{
      id: string;
    }>;
    expect(stored.map((failure) => failure.id)).toEqual(updates.map((update) => update.id));
    expectWithinLimits(run);
  }, 60_000);

  it("submits again after a retryable failure, then announces Failed with what was not sent", async () => {
    world.kustomer.inject({ method: "PUT", times: 1_000, fault: { status: 503 } });
    const updates = customerUpdates(3);
    const run = await execute({ body: updates }, "exec-outage");
    expect(run.error?.name).toBe("KustomerUnavailableError");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail).toEqual({
      correlationId: "exec-outage",
      error: { name: "KustomerUnavailableError", message: expect.stringContaining("503") },
      acceptedBulkIds: [],
      inDoubtCustomerIds: [],
      unsentCustomerIds: updates.map((update) => update.id),
    });
    // The first submit and WORKFLOW_RESUBMITS more, each with the function's own two attempts.
    expect(world.kustomer.bulkPuts).toHaveLength((1 + WORKFLOW_RESUBMITS) * 2);
  });

  it("resubmits only the requests Kustomer did not accept, and follows the accepted ones to the end", async () => {
    const updates = customerUpdates(300);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    // The second request fails both of its attempts: the first submit fails; the others were accepted.
    world.kustomer.inject({ method: "PUT", match: carrying(updates[100]!.id), times: 2, fault: { status: 503 } });
    const run = await execute({ body: updates }, "exec-resubmit");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toMatchObject({ items: 300, applied: 300, failed: 0, inDoubt: 0, unsent: 0 });
    expect(detail.bulkIds).toHaveLength(3);
    expect(run.visited.filter((state) => state === "Resubmit")).toHaveLength(1);
    // Accepted requests went out once; the refused one twice more (its attempts), then once accepted.
    const sends = sendsPerCustomer();
    for (const [index, { id }] of updates.entries())
      expect({ index, sends: sends.get(id) }).toEqual({ index, sends: index >= 100 && index < 200 ? 3 : 1 });
    expectWithinLimits(run);
  });

  it("never sends again a request Kustomer accepted with an unreadable answer, and resends one that went unanswered", async () => {
    const updates = customerUpdates(300);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    // First request: a 201 whose body cannot be read. Second: no answer to either attempt. Third: two 503s.
    world.kustomer.inject({ method: "PUT", match: carrying(updates[0]!.id), fault: { status: 201, body: '{"data":' } });
    world.kustomer.inject({ method: "PUT", match: carrying(updates[100]!.id), times: 2, fault: { hang: true } });
    world.kustomer.inject({ method: "PUT", match: carrying(updates[200]!.id), times: 2, fault: { status: 503 } });
    const run = await execute({ body: updates }, "exec-resubmit-doubt");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    // The first request's customers stay in doubt; the second and third were sent again and applied.
    expect(detail).toMatchObject({ items: 300, applied: 200, failed: 0, inDoubt: 100, unsent: 0 });
    expect(detail.inDoubtCustomerIds).toEqual(updates.slice(0, 100).map(({ id }) => id));
    expect(detail.applied + detail.failed + detail.inDoubt + detail.unsent + detail.unchanged).toBe(detail.items);
    const sends = sendsPerCustomer();
    for (const [index, { id }] of updates.entries()) expect({ index, sends: sends.get(id) }).toEqual({ index, sends: index < 100 ? 1 : 3 });
  });

  it("announces Failed after its last resubmission with every attempt's accepted bulk ids, and only the customers never sent as not sent", async () => {
    const updates = customerUpdates(250);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    world.kustomer.inject({ method: "PUT", match: carrying(updates[100]!.id), fault: { hang: true } });
    world.kustomer.inject({ method: "PUT", match: carrying(updates[100]!.id), times: 1_000, fault: { status: 503 } });
    world.kustomer.inject({ method: "PUT", match: carrying(updates[200]!.id), times: 1_000, fault: { status: 503 } });
    const run = await execute({ body: updates }, "exec-resubmit-fails");
    expect(run.error?.name).toBe("KustomerUnavailableError");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    // The second request went unanswered once: in doubt, whatever later attempts did. The third was never taken.
    expect(detail.acceptedBulkIds).toHaveLength(1);
    expect(new Set(detail.inDoubtCustomerIds)).toEqual(new Set(updates.slice(100, 200).map(({ id }) => id)));
    expect(detail.unsentCustomerIds).toEqual(updates.slice(200).map(({ id }) => id));
    expect(run.visited.filter((state) => state === "Resubmit")).toHaveLength(WORKFLOW_RESUBMITS);
    // The accepted first request went out once, on the first attempt only.
    expect(sendsPerCustomer().get(updates[0]!.id)).toBe(1);
  });

  it("names the operations accepted before a request Kustomer refused, and the customers not sent", async () => {
    const updates = customerUpdates(150);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    world.kustomer.inject({
      method: "PUT",
      match: (request) => JSON.stringify(request.body).includes(customerId(101)),
      fault: { status: 400 },
    });
    const run = await execute({ body: updates }, "exec-partial", byDefault);
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail).toMatchObject({
      error: { name: "KustomerRequestError" },
      acceptedBulkIds: [expect.stringMatching(/^[0-9a-f]{24}$/)],
      unsentCustomerIds: updates.slice(100).map((update) => update.id),
    });
    // Not retryable: submitted once.
    expect(world.kustomer.bulkPuts).toHaveLength(2);
  });

  it(`lists ${MAX_LISTED} customers not sent in a Failed event and keeps them all in S3 past that`, async () => {
    const updates = Array.from({ length: 1_500 }, (_, index) => ({ id: customerId(index + 1) }));
    world.kustomer.inject({ method: "PUT", times: 1_000, fault: { status: 400 } });
    const run = await execute({ body: updates }, "exec-many-unsent");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail.acceptedBulkIds).toEqual([]);
    expect(detail.unsentCustomerIds).toEqual(updates.slice(0, MAX_LISTED).map((update) => update.id));
    const stored = JSON.parse(world.s3.objects.get(detail.unsentCustomerIdsObject.slice("s3://".length))?.toString("utf8") ?? "[]");
    expect(stored).toEqual(updates.map((update) => update.id));
  });

  it(`names where all the customers in doubt are kept when a run fails after its submit left over ${MAX_LISTED} in doubt`, async () => {
    const updates = Array.from({ length: 1_500 }, (_, index) => ({ id: customerId(index + 1) }));
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    const doubted = new Set(updates.slice(0, 1_100).map(({ id }) => id));
    world.kustomer.inject({
      method: "PUT",
      times: 1_000,
      match: (request) => (request.body as Array<{ id: string }>).some(({ id }) => doubted.has(id)),
      fault: { hang: true },
    });
    // Then the key loses its role: the status read fails for good, after the submit.
    world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\//, times: 1_000, fault: { status: 403 } });
    const run = await execute({ body: updates }, "exec-doubt-then-refused");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail).toMatchObject({ error: { name: "KustomerAuthError" }, unsentCustomerIds: [] });
    expect(detail.acceptedBulkIds).toHaveLength(4);
    expect(detail.inDoubtCustomerIds).toHaveLength(MAX_LISTED);
    const stored = JSON.parse(world.s3.objects.get(detail.inDoubtCustomerIdsObject.slice("s3://".length))?.toString("utf8") ?? "[]");
    expect(new Set(stored)).toEqual(doubted);
  });

  it("still announces Failed after the submit when the function's answer names no lists, as its code before 0.10.0 did", async () => {
    world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\//, times: 1_000, fault: { status: 403 } });
    // The function as it answered before: no `follow.lists` (a deploy under way, or a rollback).
    const older = async (event: unknown, context?: Context) => {
      const answer = (await world.handler(event, context)) as { follow?: Record<string, unknown> };
      delete answer.follow?.lists;
      return answer;
    };
    const run = await runStateMachine(byDefault, { body: customerUpdates(3) }, older, () => lambdaContext(), {
      executionName: "exec-older-function",
      beforeTask: (state) => {
        if (state === "CheckStatus") world.advance(500);
      },
    });
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail).toEqual({
      correlationId: "exec-older-function",
      error: expect.objectContaining({ name: "KustomerAuthError" }),
      acceptedBulkIds: [expect.stringMatching(/^[0-9a-f]{24}$/)],
      inDoubtCustomerIds: [],
      unsentCustomerIds: [],
    });
  });

  it("announces Failed with Lambda's own error when the function never answers", async () => {
    const throttled = Object.assign(new Error("Rate Exceeded."), { name: "Lambda.ServiceException" });
    const run = await execute({ body: customerUpdates(2) }, "exec-unanswered", byDefault, (state) => {
      if (state === "Submit") throw throttled;
    });
    expect(run.error?.name).toBe("Lambda.ServiceException");
    expect(outcomeOf(run)).toEqual({
      detailType: FAILED_DETAIL_TYPE,
      detail: { correlationId: "exec-unanswered", error: { name: "Lambda.ServiceException", message: "Rate Exceeded." } },
      source: OUTCOME_SOURCE,
      bytes: expect.any(Number),
    });
    expect(world.kustomer.bulkPuts).toEqual([]);
  });

  it("announces Failed with the validation issues of an invalid command, and sends nothing", async () => {
    const run = await execute({ body: [{ id: "nope" }] }, "exec-invalid");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail).toEqual({
      correlationId: "exec-invalid",
      error: { name: "ValidationError", message: expect.stringContaining("body[0].id") },
      acceptedBulkIds: [],
    });
    expect(world.kustomer.bulkPuts).toEqual([]);
  });

  it("stops reading an operation that never completes, and announces KustomerBulkIncompleteError naming it", async () => {
    // 2 minutes at 30 s a check: four checks, then the run ends.
    const bounded = definitionFromTemplate({ statusTimeoutMinutes: "2" }, "Workflow");
    world.kustomer.inject({
      method: "GET",
      path: /^\/v1\/bulk\/[^/]+$/,
      times: 1_000,
      fault: { status: 200, body: { data: { id: "stuck-1", attributes: { status: "running" } } } },
    });
    const run = await execute({ body: customerUpdates(3) }, "exec-stuck", bounded);
    expect(run.error?.name).toBe("KustomerBulkIncompleteError");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail.error.message).toMatch(/within 2 minutes: bulk ids \["[0-9a-f]{24}"\] with statuses \["running"\]/);
    expect(detail.acceptedBulkIds).toHaveLength(1);
    expect(run.visited.filter((state) => state === "CheckStatus")).toHaveLength(4);
  });

  it("reads the status again after a status read that failed retryably, and still completes", async () => {
    const updates = customerUpdates(3);
    world.kustomer.addCustomers(updates);
    // Both of the client's attempts at the first status read get a 503: the read fails, retryably.
    world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\/[^/]+$/, times: 2, fault: { status: 503 } });
    const run = await execute({ body: updates }, "exec-status-503");
    expect(run.error).toBeUndefined();
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    expect(detail).toMatchObject({ items: 3, applied: 3, failed: 0, inDoubt: 0 });
    expect(run.visited.filter((state) => state === "CheckStatus").length).toBeGreaterThanOrEqual(2);
  });

  it("takes an undocumented status seen twice as Kustomer's last word: the operation's customers are in doubt, not polled for hours", async () => {
    const updates = customerUpdates(150);
    world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
    world.kustomer.inject({
      method: "GET",
      path: /^\/v1\/bulk\/[^/]+$/,
      match: firstOperationRead(),
      times: 1_000,
      fault: { status: 200, body: { data: { id: "odd", attributes: { status: "cancelled" } } } },
    });
    const run = await execute({ body: updates }, "exec-cancelled");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
    // The first operation reads "cancelled" twice; the second completes as usual.
    expect(detail).toMatchObject({ items: 150, applied: 50, failed: 0, inDoubt: 100, unsent: 0 });
    expect(detail.inDoubtCustomerIds).toEqual(updates.slice(0, 100).map(({ id }) => id));
    expect(run.visited.filter((state) => state === "CheckStatus").length).toBeLessThanOrEqual(3);
  });

  describe("a bulk id Kustomer answers 404 for", () => {
    const clock = shiftedClock();

    it("is pending right after the submit, then followed to the end", async () => {
      const updates = customerUpdates(120);
      world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
      world.kustomer.inject({
        method: "GET",
        path: /^\/v1\/bulk\/[^/]+$/,
        times: 2,
        fault: { status: 404, body: { errors: [{ status: 404, code: "not_found" }] } },
      });
      const run = await execute({ body: updates }, "exec-404-lag");
      const { detailType, detail } = outcomeOf(run);
      expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
      expect(detail).toMatchObject({ items: 120, applied: 120, failed: 0, inDoubt: 0 });
    });

    it(`leaves its customers in doubt, never failed, once it still reads 404 past KUSTOMER_NOT_FOUND_GRACE_SECONDS`, async () => {
      const updates = customerUpdates(120);
      world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
      world.kustomer.inject({
        method: "GET",
        path: /^\/v1\/bulk\/[^/]+$/,
        times: 1_000,
        fault: { status: 404, body: { errors: [{ status: 404, code: "not_found" }] } },
      });
      // Each check comes two minutes after the last: past the 300 s grace by the fourth.
      const run = await execute({ body: updates }, "exec-404-lost", byDefault, (state) => {
        if (state === "CheckStatus") clock.shift(120_000);
      });
      const { detailType, detail } = outcomeOf(run);
      expect(detailType).toBe(COMPLETED_DETAIL_TYPE);
      expect(detail).toMatchObject({ items: 120, applied: 0, failed: 0, failures: [], inDoubt: 120, unsent: 0 });
      expect(detail.inDoubtCustomerIds).toEqual(updates.map(({ id }) => id));
      expect(run.visited.filter((state) => state === "CheckStatus")).toHaveLength(3);
    });
  });

  it("keeps every state and task input under 256 KiB for the largest body the workflow takes, resubmission included", async () => {
    // Minimal updates, as many as fit in MAX_WORKFLOW_COMMAND_BYTES; the last request is refused once, so Resubmit carries the rest's account.
    const count = Math.floor((MAX_WORKFLOW_COMMAND_BYTES - '{"body":[]}'.length) / (JSON.stringify({ id: customerId(1) }).length + 1));
    const body = Array.from({ length: count }, (_, index) => ({ id: customerId(index + 1) }));
    expect(Buffer.byteLength(JSON.stringify({ body }))).toBeLessThanOrEqual(MAX_WORKFLOW_COMMAND_BYTES);
    world.kustomer.addCustomers(body);
    world.kustomer.inject({ method: "PUT", match: carrying(body[count - 1]!.id), times: 2, fault: { status: 503 } });
    const run = await execute({ body }, "exec-largest");
    expect(outcomeOf(run).detail).toMatchObject({ items: count, applied: count, failed: 0 });
    expect(run.visited).toContain("Resubmit");
    expectWithinLimits(run);
    // The command stays in the execution input: no state after the first carries it.
    const afterStart = run.sizes.filter(({ state }) => state !== "HasCorrelationId?" && state !== "UseExecutionName");
    expect(Math.max(...afterStart.map(({ inputBytes }) => inputBytes))).toBeLessThan(20_000);
  }, 60_000);

  it("refuses a command over MAX_WORKFLOW_COMMAND_BYTES with a ValidationError naming the size, and sends nothing", async () => {
    const count = Math.ceil(MAX_WORKFLOW_COMMAND_BYTES / (JSON.stringify({ id: customerId(1) }).length + 1)) + 1;
    const run = await execute({ body: Array.from({ length: count }, (_, index) => ({ id: customerId(index + 1) })) }, "exec-too-large");
    const { detailType, detail } = outcomeOf(run);
    expect(detailType).toBe(FAILED_DETAIL_TYPE);
    expect(detail.error).toEqual({
      name: "ValidationError",
      message: expect.stringMatching(/^the command is \d+ bytes; a workflow takes at most 248 KiB/),
    });
    expect(world.kustomer.bulkPuts).toEqual([]);
  });

  it("keeps every state and task input under 256 KiB for 10,000 ids with one update, resubmission included", async () => {
    const ids = Array.from({ length: 10_000 }, (_, index) => customerId(index + 1));
    world.kustomer.addCustomers(ids.map((id) => ({ id })));
    const input = { ids: ids.join(","), body: [{ id: ids[0], tags: ["vip"] }] };
    expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThanOrEqual(MAX_WORKFLOW_COMMAND_BYTES);
    world.kustomer.inject({
      method: "PUT",
      match: (request) => request.query.ids?.includes(ids[9_999]!) ?? false,
      times: 2,
      fault: { status: 503 },
    });
    const run = await execute(input, "exec-ids");
    expect(outcomeOf(run).detail).toMatchObject({ items: 10_000, applied: 10_000, failed: 0 });
    expect(run.visited).toContain("Resubmit");
    expectWithinLimits(run);
  }, 60_000);

  it("announces a dry run as Completed, with nothing applied and nothing sent", async () => {
    const run = await execute({ body: customerUpdates(250), dryRun: true }, "exec-dry");
    expect(outcomeOf(run)).toMatchObject({
      detailType: COMPLETED_DETAIL_TYPE,
      detail: { correlationId: "exec-dry", dryRun: true, items: 250, requests: 3, applied: 0, failed: 0, failures: [], bulkIds: [] },
    });
    expect(world.kustomer.bulkPuts).toEqual([]);
  });
});

describe("a resubmission that fails before it sends anything", () => {
  it("answers from what the earlier attempts settled: the accepted, those in doubt, and the requests never taken as not sent", async () => {
    const command = { body: customerUpdates(350) };
    const ids = command.body.map(({ id }) => id);
    const earlier = {
      accepted: [
        { request: 0, bulkId: "b-0" },
        { request: 2, bulkId: null },
      ],
      unanswered: [1],
    };
    const answer = await toFailure(new KustomerUnavailableError("Kustomer did not answer"), { event: command }, earlier);
    expect(answer).toMatchObject({
      status: "failed",
      retryable: true,
      settled: earlier,
      outcome: {
        error: { name: "KustomerUnavailableError" },
        acceptedBulkIds: ["b-0"],
        inDoubtCustomerIds: [...ids.slice(200, 300), ...ids.slice(100, 200)],
        unsentCustomerIds: ids.slice(300),
      },
    });
  });
});
