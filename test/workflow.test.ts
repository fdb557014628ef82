// The workflow as synthesized, executed by an ASL interpreter with the real handler against the
// Kustomer sandbox: success with per-customer failures, an outage, an operation that never completes,
// the largest command StartExecution accepts (every state under 256 KiB), and a dry run.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { customerId, customerUpdates } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";
import { definitionFromTemplate, runStateMachine, type Run } from "./support/state-machines.ts";

/** Step Functions' limit for a state's input or output, and for StartExecution's input. */
const STATE_LIMIT = 256 * 1024;

let world: World;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2", KUSTOMER_TIMEOUT_MS: "1000" });
});
beforeEach(() => world.kustomer.reset());
afterAll(() => world.stop());

const byDefault = definitionFromTemplate({}, "Workflow");
/** Each status check moves Kustomer's clock on, as the 30 s wait would. */
const execute = (input: Record<string, unknown>, executionName: string, definition = byDefault): Promise<Run> =>
  runStateMachine(definition, input, world.handler, () => lambdaContext(), {
    executionName,
    beforeTask: (state) => {
      if (state === "CheckStatus") world.advance(500);
    },
  });

function expectWithinLimits(run: Run): void {
  expect(run.sizes.length).toBeGreaterThan(0);
  for (const { state, inputBytes, outputBytes } of run.sizes) {
    expect({ state, inputBytes: inputBytes <= STATE_LIMIT, outputBytes: outputBytes <= STATE_LIMIT }).toEqual({ state, inputBytes: true, outputBytes: true });
  }
  for (const { state, bytes } of run.taskResults) expect({ state, within: bytes <= STATE_LIMIT }).toEqual({ state, within: true });
}

describe("the workflow, executed", () => {
  it("submits, follows the operations to complete, and ends with every customer Kustomer failed", async () => {
    const updates = customerUpdates(150);
    // Customers 149 and 150 do not exist in Kustomer, so their updates fail there.
    world.kustomer.addCustomers(updates.slice(0, 148).map(({ id }) => ({ id })));
    const run = await execute({ body: updates }, "exec-success");
    expect(run.error).toBeUndefined();
    expect(run.output).toEqual({
      correlationId: "exec-success",
      items: 150,
      operations: [
        { bulkId: expect.any(String), status: "complete", successCount: 100, failureCount: 0, failures: [] },
        {
          bulkId: expect.any(String),
          status: "complete",
          successCount: 48,
          failureCount: 2,
          failures: [
            { id: customerId(149), error: "customer not found" },
            { id: customerId(150), error: "customer not found" },
          ],
        },
      ],
    });
    expect(run.visited.filter((state) => state === "CheckStatus").length).toBeGreaterThanOrEqual(2);
    expectWithinLimits(run);
  });

  it("takes the command's own correlationId over the execution name", async () => {
    world.kustomer.addCustomers([{ id: customerId(1) }]);
    const run = await execute({ body: customerUpdates(1), correlationId: "order-sync-2026-11-27" }, "exec-named");
    expect(run.output).toMatchObject({ correlationId: "order-sync-2026-11-27", items: 1 });
    expect(run.visited).toContain("SubmitWithCorrelationId");
  });

  it("fails with Kustomer's error name when Kustomer stays down, after retrying it", async () => {
    world.kustomer.inject({ method: "PUT", times: 1_000, fault: { status: 503 } });
    const run = await execute({ body: customerUpdates(3) }, "exec-outage");
    expect(run.error?.name).toBe("KustomerUnavailableError");
    expect(run.visited.at(-1)).toBe("BulkUpdateFailed");
    // Seven attempts of the task (six retries), each with the function's own two attempts.
    expect(world.kustomer.bulkPuts).toHaveLength(14);
  });

  it("stops reading an operation that never completes, and names it in KustomerBulkIncompleteError", async () => {
    // 2 minutes at 30 s a check: four checks, then the run ends.
    const bounded = definitionFromTemplate({ statusTimeoutMinutes: "2" }, "Workflow");
    world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\/[^/]+$/, times: 1_000, fault: { status: 200, body: { data: { id: "stuck-1", attributes: { status: "paused" } } } } });
    const run = await execute({ body: customerUpdates(3) }, "exec-stuck", bounded);
    expect(run.error?.name).toBe("KustomerBulkIncompleteError");
    expect(run.error?.message).toMatch(/within 2 minutes: bulk ids \["[0-9a-f]{24}"\] with statuses \["paused"\]/);
    expect(run.visited.filter((state) => state === "CheckStatus")).toHaveLength(4);
  });

  it("keeps every state under 256 KiB for the largest body StartExecution accepts", async () => {
    // Minimal updates, as many as fit in StartExecution's 256 KiB.
    const count = Math.floor((STATE_LIMIT - '{"body":[]}'.length) / (JSON.stringify({ id: customerId(1) }).length + 1));
    const body = Array.from({ length: count }, (_, index) => ({ id: customerId(index + 1) }));
    const input = { body };
    expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThanOrEqual(STATE_LIMIT);
    expect(Buffer.byteLength(JSON.stringify({ body: [...body, { id: customerId(count + 1) }] }))).toBeGreaterThan(STATE_LIMIT);
    world.kustomer.addCustomers(body);
    const run = await execute(input, "exec-largest");
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ items: count });
    expectWithinLimits(run);
    // The body is left behind once sent: no later state carries it.
    const afterSubmit = run.sizes.filter(({ state }) => state !== "HasCorrelationId?" && state !== "Submit");
    expect(Math.max(...afterSubmit.map(({ inputBytes }) => inputBytes))).toBeLessThan(20_000);
  }, 60_000);

  it("keeps every state under 256 KiB for 9,000 ids with one update", async () => {
    const ids = Array.from({ length: 9_000 }, (_, index) => customerId(index + 1));
    world.kustomer.addCustomers(ids.map((id) => ({ id })));
    const run = await execute({ ids: ids.join(","), body: [{ id: ids[0], tags: ["vip"] }] }, "exec-ids");
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ items: 9_000 });
    expectWithinLimits(run);
  }, 60_000);

  it("plans a dry run and sends nothing", async () => {
    const run = await execute({ body: customerUpdates(250), dryRun: true }, "exec-dry");
    expect(run.output).toEqual({ correlationId: "exec-dry", status: "dryRun", items: 250, requests: 3 });
    expect(world.kustomer.bulkPuts).toEqual([]);
  });
});
