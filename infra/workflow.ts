// The Step Functions workflow: submit a command, wait, read the status until every bulk operation is
// complete, and end with the per-customer failures. Retries match the contract's retryable names.
import { CfnElement, Duration, Stack, Validations } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import {
  Choice,
  Condition,
  Fail,
  JitterType,
  JsonPath,
  Pass,
  StateMachine,
  TaskInput,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import type { DataKey } from "./data-key.ts";
import { createStateMachine } from "./state-machine.ts";

/** Errors worth another try: the contract's retryable names and Lambda's own transient faults. */
export const RETRYABLE_ERRORS = [
  "KustomerRateLimitError",
  "KustomerUnavailableError",
  "SecretUnavailableError",
  "Lambda.TooManyRequestsException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
];

export interface BulkUpdateWorkflowProps {
  fn: IFunction;
  pollInterval: Duration;
  dataKey: DataKey;
}

export class BulkUpdateWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BulkUpdateWorkflowProps) {
    super(scope, id);
    const failed = new Fail(this, "BulkUpdateFailed", { errorPath: "$.error.Error", causePath: "$.error.Cause" });
    const invoke = (name: string, payload: TaskInput | undefined, resultPath: string) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: props.fn,
        payload,
        payloadResponseOnly: true,
        // Replaced by the explicit retry below, which also covers the function's own named errors.
        retryOnServiceExceptions: false,
        resultPath,
      })
        .addRetry({ errors: RETRYABLE_ERRORS, interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 6, jitterStrategy: JitterType.FULL })
        .addCatch(failed, { errors: ["States.ALL"], resultPath: "$.error" });

    // No payload: the execution input, which is the command itself, goes to the function as it is.
    const submit = invoke("Submit", undefined, "$.submitted");
    const checkStatus = invoke(
      "CheckStatus",
      TaskInput.fromObject({ action: "status", bulkIds: JsonPath.listAt("$.submitted.operations[*].bulkId") }),
      "$.status",
    );
    const wait = new Wait(this, "WaitForKustomer", { time: WaitTime.duration(props.pollInterval) });
    const report = new Pass(this, "Report", {
      parameters: { "items.$": "$.submitted.items", "operations.$": "$.status.operations" },
    });
    const planned = new Pass(this, "DryRunPlanned", { outputPath: "$.submitted" });

    const definition = submit.next(
      new Choice(this, "DryRun?")
        .when(Condition.stringEquals("$.submitted.status", "dryRun"), planned)
        .otherwise(
          wait.next(checkStatus).next(
            new Choice(this, "AllComplete?").when(Condition.booleanEquals("$.status.allComplete", true), report).otherwise(wait),
          ),
        ),
    );

    this.stateMachine = createStateMachine(this, definition, props.dataKey);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: "lambda:InvokeFunction on the one bulk-update function, its versions and aliases included (the :* suffix); no other function.",
    });
  }
}
