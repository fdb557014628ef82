// An update requested on the bus, end to end as deployed: the rule's target puts the whole event on
// the burst queue, the consumer starts the workflow named by the event id, and the synthesized
// workflow (run by an ASL interpreter with the real handler) announces one outcome carrying that id.
// A redelivered event starts nothing new.
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, expect, it } from "vitest";
import { definitionFromTemplate, type Run, runStateMachine } from "../local/state-machines.ts";
import { LocalStepFunctions } from "../local/step-functions.ts";
import { synthApp } from "../local/synth.ts";
import { customerId, customerUpdates, eventBridgeEvent, sqsEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const stepFunctions = new LocalStepFunctions();
let world: World;
const runs: Array<Promise<Run>> = [];

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_SFN = await stepFunctions.start();
  world = await startWorld({
    WORKFLOW_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:KustomerBulkUpdate-workflow",
  });
  const workflow = definitionFromTemplate({}, "Workflow");
  stepFunctions.onStart = ({ name, input }) => {
    runs.push(
      runStateMachine(workflow, JSON.parse(input), world.handler, () => lambdaContext(), {
        executionName: name,
        beforeTask: (state) => {
          if (state === "CheckStatus") world.advance(500);
        },
      }),
    );
  };
});
afterAll(async () => {
  await world.stop();
  await stepFunctions.stop();
  delete process.env.AWS_ENDPOINT_URL_SFN;
});

it("the bus rule forwards the whole event to the burst queue, so its id reaches the consumer", () => {
  const template = Template.fromStack(synthApp({}).stack);
  const [rule] = Object.values(
    template.findResources("AWS::Events::Rule", { Properties: { EventPattern: { "detail-type": ["Customer Bulk Update Requested"] } } }),
  );
  const [target] = rule!.Properties.Targets as Array<Record<string, unknown>>;
  expect(target).not.toHaveProperty("Input");
  expect(target).not.toHaveProperty("InputPath");
  expect(target).not.toHaveProperty("InputTransformer");
});

it("ends an update requested on the bus with one Completed event carrying the request's event id", async () => {
  world.kustomer.addCustomers([{ id: customerId(1) }]);
  const event = eventBridgeEvent({ body: customerUpdates(2) });
  const message = JSON.stringify(event);
  expect(await world.handler(sqsEvent([message]), lambdaContext())).toEqual({ batchItemFailures: [] });
  // EventBridge and SQS both deliver at least once: the same event again.
  expect(await world.handler(sqsEvent([message]), lambdaContext())).toEqual({ batchItemFailures: [] });
  expect(runs).toHaveLength(1);
  const run = await runs[0]!;
  expect(run.events).toEqual([
    {
      source: "kustomer-bulk-update",
      detailType: "Customer Bulk Update Completed",
      detail: {
        correlationId: event.id,
        items: 2,
        applied: 1,
        failed: 1,
        // Kustomer's own words stay out of events.
        failures: [{ id: customerId(2), error: "rejected" }],
        bulkIds: [expect.any(String)],
        inDoubt: 0,
        inDoubtCustomerIds: [],
        unsent: 0,
        unchanged: 0,
      },
      bytes: expect.any(Number),
    },
  ]);
  expect(world.kustomer.bulkPuts).toHaveLength(1);
});
