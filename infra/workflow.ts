// The Step Functions workflow: submit a command, then read the status until every bulk operation is
// complete (or the status timeout passes), and end with the per-customer failures. Its state stays
// small whatever the command: the body is left behind once sent, and only the bulk ids and counts go
// on. Retries match the contract's retryable names.
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
  type IChainable,
  type INextable,
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
  "Lambda.ClientExecutionTimeoutException",
];

/** The one retry policy of every task that invokes a function. */
export const TASK_RETRY = { errors: RETRYABLE_ERRORS, interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 6, jitterStrategy: JitterType.FULL };

/** The name the workflow fails with when Kustomer has not completed every operation in time. */
export const INCOMPLETE_ERROR = "KustomerBulkIncompleteError";

export interface BulkUpdateWorkflowProps {
  fn: IFunction;
  pollInterval: Duration;
  /** After this long reading status, the run fails with KustomerBulkIncompleteError. */
  statusTimeout: Duration;
  dataKey: DataKey;
}

export class BulkUpdateWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BulkUpdateWorkflowProps) {
    super(scope, id);
    // Errors replace the state rather than join it: at the largest input, joining could pass 256 KiB.
    const failed = new Fail(this, "BulkUpdateFailed", { errorPath: "$.Error", causePath: "$.Cause" });
    // No resultPath: the selected result replaces the state, which is ASL's default.
    const invoke = (name: string, options: { payload?: TaskInput; resultSelector: Record<string, unknown>; resultPath?: string }) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: props.fn,
        payload: options.payload,
        payloadResponseOnly: true,
        // Replaced by the explicit retry below, which also covers the function's own named errors.
        retryOnServiceExceptions: false,
        resultSelector: options.resultSelector,
        resultPath: options.resultPath,
      })
        .addRetry(TASK_RETRY)
        .addCatch(failed, { errors: ["States.ALL"] });

    // The command goes to the function as it is (adding to it could pass 256 KiB at the largest
    // input); what comes back is cut to what the next states need, and replaces the command.
    const submitted = (correlationIdPath: string) => ({
      "correlationId.$": correlationIdPath,
      "status.$": "$.status",
      "items.$": "$.items",
      "bulkIds.$": "$.operations[*].bulkId",
    });
    const submitWithOwnId = invoke("SubmitWithCorrelationId", { resultSelector: submitted("$$.Execution.Input.correlationId") });
    const submitNamed = invoke("Submit", { resultSelector: submitted("$$.Execution.Name") });

    // Checks made before giving up: one per poll interval until the timeout (capped in settings.ts).
    const maxChecks = Math.max(1, Math.ceil(props.statusTimeout.toSeconds() / props.pollInterval.toSeconds()));
    const startPolling = new Pass(this, "StartPolling", {
      parameters: { "correlationId.$": "$.correlationId", "items.$": "$.items", "bulkIds.$": "$.bulkIds", polls: 0 },
    });
    const wait = new Wait(this, "WaitForKustomer", { time: WaitTime.duration(props.pollInterval) });
    const checkStatus = invoke("CheckStatus", {
      payload: TaskInput.fromObject({ action: "status", bulkIds: JsonPath.listAt("$.bulkIds") }),
      resultSelector: { "allComplete.$": "$.allComplete", "operations.$": "$.operations" },
      resultPath: "$.status",
    });
    const countPoll = new Pass(this, "CountPoll", {
      parameters: {
        "correlationId.$": "$.correlationId",
        "items.$": "$.items",
        "bulkIds.$": "$.bulkIds",
        "polls.$": "States.MathAdd($.polls, 1)",
      },
    });
    const report = new Pass(this, "Report", {
      parameters: { "correlationId.$": "$.correlationId", "items.$": "$.items", "operations.$": "$.status.operations" },
    });
    const minutes = Math.round(props.statusTimeout.toMinutes({ integral: false }));
    const incomplete = new Pass(this, "ListIncomplete", {
      parameters: {
        "correlationId.$": "$.correlationId",
        "cause.$": `States.Format('Kustomer did not complete every bulk operation within ${minutes} minutes: bulk ids {} with statuses {}', States.JsonToString($.status.operations[*].bulkId), States.JsonToString($.status.operations[*].status))`,
      },
    }).next(new Fail(this, "BulkUpdateIncomplete", { error: INCOMPLETE_ERROR, causePath: "$.cause" }));
    const planned = new Pass(this, "DryRunPlanned", {
      parameters: { "correlationId.$": "$.correlationId", "status.$": "$.status", "items.$": "$.items", "requests.$": "States.ArrayLength($.bulkIds)" },
    });

    const afterSubmit = (submit: INextable & IChainable) =>
      submit.next(
        new Choice(this, `DryRun?${submit === submitNamed ? "" : " (with correlation id)"}`)
          .when(Condition.stringEquals("$.status", "dryRun"), planned)
          .otherwise(startPolling),
      );
    startPolling.next(wait);
    wait.next(checkStatus);
    checkStatus.next(
      new Choice(this, "AllComplete?")
        .when(Condition.booleanEquals("$.status.allComplete", true), report)
        .when(Condition.numberGreaterThanEquals("$.polls", maxChecks - 1), incomplete)
        .otherwise(countPoll.next(wait)),
    );

    const definition = new Choice(this, "HasCorrelationId?")
      .when(Condition.isPresent("$.correlationId"), afterSubmit(submitWithOwnId))
      .otherwise(afterSubmit(submitNamed));

    this.stateMachine = createStateMachine(this, definition, props.dataKey);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: "lambda:InvokeFunction on the one bulk-update function, its versions and aliases included (the :* suffix); no other function.",
    });
  }
}
