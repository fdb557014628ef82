// Each entry point takes only its own requests (CONTRACT §0.1): anything else is a ValidationError
// naming `action`, and nothing is sent to Kustomer, nor read from it.
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OUTCOME_TASK, RESUBMIT_TASK, WORKFLOW_CALLER } from "../lambda/contract/names.ts";
import { customerId, customerUpdates, eventBridgeEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
beforeEach(() => world.kustomer.reset());
afterAll(() => world.stop());

const BULK_ID = "5e4c41c8c9f1e7001a5a3b2c";
const status = { action: "status", bulkIds: [BULK_ID] };
const outcome = { action: "outcome", command: { body: customerUpdates(1) }, requests: [BULK_ID], submittedAt: 0, seen: [null] };
const batch = { action: "batch", items: customerUpdates(2) };
const workflowTask = (task?: string) =>
  Object.assign(lambdaContext(), { clientContext: { custom: { caller: WORKFLOW_CALLER, ...(task ? { task } : {}) } } }) as Context;

async function refusal(answer: Promise<unknown>): Promise<unknown> {
  try {
    const value = (await answer) as Record<string, any>;
    // The workflow's tasks answer their errors; the others throw them.
    return value?.status === "failed" ? value.outcome.error : value;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

describe("what each entry point refuses", () => {
  it.each([
    ["a direct invoke", "an outcome read", outcome, undefined],
    ["a direct invoke", "a job batch", batch, undefined],
    ["the workflow's Submit", "an outcome read", outcome, workflowTask()],
    ["the workflow's Submit", "a status read", status, workflowTask()],
    ["the workflow's Submit", "a job batch", batch, workflowTask()],
    ["the workflow's CheckStatus", "a command", { body: customerUpdates(2) }, workflowTask(OUTCOME_TASK)],
    ["the workflow's CheckStatus", "a status read", status, workflowTask(OUTCOME_TASK)],
  ])("%s refuses %s", async (_entry, _what, request, context) => {
    const refused = await refusal(world.handler(request, context ?? lambdaContext()));
    expect(refused).toMatchObject({ name: "ValidationError", message: expect.stringContaining("action: this entry point takes") });
    expect(world.kustomer.requests).toEqual([]);
  });

  it.each([
    ["a status read", status],
    ["an outcome read", outcome],
    ["a job batch", batch],
  ])("a bus event refuses %s", async (_what, detail) => {
    const refused = await refusal(world.handler(eventBridgeEvent(detail), lambdaContext()));
    expect(refused).toMatchObject({ name: "ValidationError", message: expect.stringContaining("this entry point takes commands") });
    expect(world.kustomer.requests).toEqual([]);
  });

  it("the workflow's Resubmit refuses a wrapped read", async () => {
    const refused = await refusal(
      world.handler({ command: status, attempt: 1, settled: { accepted: [], unanswered: [] } }, workflowTask(RESUBMIT_TASK)),
    );
    expect(refused).toMatchObject({ name: "ValidationError" });
    expect(world.kustomer.requests).toEqual([]);
  });

  it("each deployed function has its own entry: the workflow's refuses a command sent to it directly, the queue's anything but an SQS batch", async () => {
    const { handler: workflowHandler } = await import("../lambda/workflow-handler.ts");
    const { handler: queueHandler } = await import("../lambda/queue-handler.ts");
    expect(await refusal(workflowHandler({ body: customerUpdates(1) }, lambdaContext()))).toMatchObject({
      name: "ValidationError",
      message: expect.stringContaining("answers the bulk-update workflow's own tasks only"),
    });
    expect(await refusal(queueHandler({ body: customerUpdates(1) }, lambdaContext()))).toMatchObject({
      name: "ValidationError",
      message: expect.stringContaining("takes the burst queue's SQS batches only"),
    });
    // And the bulk-update function's entry takes no SQS batch.
    expect(await refusal(world.serviceHandler({ Records: [{ eventSource: "aws:sqs", body: "{}" }] }, lambdaContext()))).toMatchObject({
      name: "ValidationError",
    });
    expect(world.kustomer.requests).toEqual([]);
  });

  it("a direct invoke still takes commands and status reads", async () => {
    world.kustomer.addCustomers([{ id: customerId(1) }]);
    const submitted = (await world.handler({ body: customerUpdates(1) }, lambdaContext())) as { operations: Array<{ bulkId: string }> };
    const read = (await world.handler({ action: "status", bulkIds: [submitted.operations[0]!.bulkId] }, lambdaContext())) as {
      operations: unknown[];
    };
    expect(read.operations).toHaveLength(1);
  });
});
