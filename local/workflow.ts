// The burst queue's path, on this machine: a local Step Functions endpoint takes the consumer's
// StartExecution calls (through the real SFN client) and runs the synthesized workflow against the
// same handler, reporting each outcome event as the workflow puts it.
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { lambdaContext } from "./gateway.ts";
import { definitionFromTemplate, type Run, runStateMachine } from "./state-machines.ts";
import { LocalStepFunctions } from "./step-functions.ts";

export const LOCAL_WORKFLOW_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:kustomer-bulk-update-local";

export interface LocalWorkflow {
  /** Every run started so far, once it has ended. */
  settled(): Promise<Run[]>;
  stop(): Promise<void>;
}

export async function startLocalWorkflow(
  handler: (event: unknown, context: Context) => Promise<unknown>,
  onEvent: (event: Run["events"][number]) => void,
  { waitMs = 1_000, timeoutMs = 300_000 } = {},
): Promise<LocalWorkflow> {
  const definition = definitionFromTemplate({}, "Workflow");
  const endpoint = new LocalStepFunctions();
  const runs: Array<Promise<Run>> = [];
  endpoint.onStart = ({ name, input }) => {
    runs.push(
      runStateMachine(definition, JSON.parse(input), handler, () => lambdaContext(randomUUID(), timeoutMs), {
        executionName: name,
        waitMs,
        onEvent,
      }),
    );
  };
  process.env.AWS_ENDPOINT_URL_SFN = await endpoint.start();
  process.env.WORKFLOW_STATE_MACHINE_ARN = LOCAL_WORKFLOW_ARN;
  // The SDK signs every request, even to this machine: any credentials do.
  process.env.AWS_REGION ??= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  return {
    settled: () => Promise.all(runs),
    stop: () => endpoint.stop(),
  };
}
