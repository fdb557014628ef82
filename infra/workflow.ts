// The Step Functions workflow: submit a command, read its outcome until every bulk operation is
// applied (or the status timeout passes), and announce the result itself on the bus, with Step
// Functions' EventBridge integration: exactly one Completed or Failed event per run (CONTRACT §3.2).
// The command stays in the execution input: no state carries it, so every state stays far under
// 256 KiB. The function answers the workflow's tasks (told apart by their client context) with what
// the events need, errors included, since a thrown error would reach here without its fields.
import { type CfnElement, type Duration, Stack, Validations } from "aws-cdk-lib";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import {
  Choice,
  Condition,
  Fail,
  JsonPath,
  Pass,
  type StateMachine,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import { EventBridgePutEvents, LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import {
  COMPLETED_DETAIL_TYPE,
  FAILED_DETAIL_TYPE,
  OUTCOME_SOURCE,
  OUTCOME_TASK,
  RESUBMIT_TASK,
  WORKFLOW_CALLER,
} from "../lambda/contract/names.ts";
import { WORKFLOW_RESUBMITS } from "../lambda/contract/retry-policy.ts";
import type { DataKey } from "./data-key.ts";
import { ANNOUNCE_RETRY, createStateMachine, withTaskRetries } from "./state-machine.ts";

/** The name the workflow fails with when Kustomer has not completed every operation in time. */
export const INCOMPLETE_ERROR = "KustomerBulkIncompleteError";

export interface BulkUpdateWorkflowProps {
  fn: IFunction;
  /** Where the outcome events go. */
  bus: IEventBus;
  pollInterval: Duration;
  /** After this long reading status, the run fails with KustomerBulkIncompleteError. */
  statusTimeout: Duration;
  dataKey: DataKey;
}

export class BulkUpdateWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BulkUpdateWorkflowProps) {
    super(scope, id);
    const clientContextOf = (custom: Record<string, string>) => Buffer.from(JSON.stringify({ custom })).toString("base64");
    const invoke = (name: string, payload: TaskInput, resultPath: string, custom: Record<string, string> = {}) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: props.fn,
        payload,
        clientContext: clientContextOf({ caller: WORKFLOW_CALLER, ...custom }),
        // Replaced by the explicit retry below, which also covers the function's own named errors.
        retryOnServiceExceptions: false,
        resultSelector: { "answer.$": "$.Payload" },
        resultPath,
      });
    const announce = (name: string, detailType: string) =>
      new EventBridgePutEvents(this, name, {
        entries: [{ eventBus: props.bus, source: OUTCOME_SOURCE, detailType, detail: TaskInput.fromJsonPathAt("$.detail") }],
        resultPath: JsonPath.DISCARD,
      }).addRetry(ANNOUNCE_RETRY);

    const completed = announce("AnnounceCompleted", COMPLETED_DETAIL_TYPE).next(
      new Succeed(this, "BulkUpdateCompleted", { outputPath: "$.detail" }),
    );
    const failed = announce("AnnounceFailed", FAILED_DETAIL_TYPE).next(
      new Fail(this, "BulkUpdateFailed", { errorPath: "$.detail.error.name", causePath: "$.detail.error.message" }),
    );
    const describe = (name: string, detail: Record<string, unknown> | string) =>
      new Pass(this, name, { parameters: typeof detail === "string" ? { "detail.$": detail } : { detail } });
    /**
     * A run that fails after the submit: what Kustomer accepted, what it left in doubt (with where the
     * whole list is kept, past 1,000), nothing unsent.
     */
    const withLists = new Choice(this, "ListsKept?")
      // A submit answered by the function before 0.10.0 (a deploy under way, a rollback) names none.
      .when(
        Condition.isPresent("$.follow.lists"),
        new Pass(this, "AddListsKept", {
          parameters: { "detail.$": "States.JsonMerge($.detail, $.follow.lists, false)" },
        }).next(failed),
      )
      .otherwise(failed);
    const afterAcceptance = (name: string, head: Record<string, unknown>) =>
      new Pass(this, name, {
        parameters: {
          detail: {
            ...head,
            "acceptedBulkIds.$": "$.summary.bulkIds",
            "inDoubtCustomerIds.$": "$.summary.inDoubtCustomerIds",
            unsentCustomerIds: [],
          },
          "follow.$": "$.follow",
        },
      }).next(withLists);
    const unansweredError = { "name.$": "$.caught.Error", "message.$": "$.caught.Cause" };
    /** The function did not answer (throttled, timed out, crashed): what it had done is not known. */
    const unanswered = (name: string) =>
      describe(name, { "correlationId.$": "$.summary.correlationId", error: unansweredError }).next(failed);

    // 1. The correlation id: the command's own, or the execution's name (the request event's id).
    const start = (name: string, correlationIdPath: string) =>
      new Pass(this, name, { parameters: { summary: { "correlationId.$": correlationIdPath }, attempts: 0 } });
    const submit = withTaskRetries(invoke("Submit", TaskInput.fromJsonPathAt("$$.Execution.Input"), "$.submitted"));
    submit.addCatch(unanswered("SubmitUnanswered"), { errors: ["States.ALL"], resultPath: "$.caught" });

    // 2. A retryable failure submits again what Kustomer did not accept: the requests not sent, and
    // those sent with no answer. What it accepted is never sent again (CONTRACT §2.6); the function
    // keeps that account (`settled`), by request, from attempt to attempt.
    const resubmitTask = withTaskRetries(
      invoke(
        "Resubmit",
        TaskInput.fromObject({
          command: JsonPath.objectAt("$$.Execution.Input"),
          attempt: JsonPath.numberAt("$.attempts"),
          settled: JsonPath.objectAt("$.settled"),
          sent: JsonPath.stringAt("$.sent"),
        }),
        "$.submitted",
        { task: RESUBMIT_TASK },
      ),
    );
    resubmitTask.addCatch(unanswered("ResubmitUnanswered"), { errors: ["States.ALL"], resultPath: "$.caught" });
    const resubmit = new Pass(this, "CountAttempt", {
      parameters: {
        "summary.$": "$.summary",
        "attempts.$": "States.MathAdd($.attempts, 1)",
        "retryAfterSeconds.$": "$.submitted.answer.retryAfterSeconds",
        "settled.$": "$.submitted.answer.settled",
        "sent.$": "$.submitted.answer.sent",
      },
    }).next(new Wait(this, "WaitToResubmit", { time: WaitTime.secondsPath("$.retryAfterSeconds") }).next(resubmitTask));

    // 3. Read the outcome until every operation is complete, at most until the status timeout.
    const maxChecks = Math.max(1, Math.ceil(props.statusTimeout.toSeconds() / props.pollInterval.toSeconds()));
    const wait = new Wait(this, "WaitForKustomer", { time: WaitTime.duration(props.pollInterval) });
    // The submit's summary (items, bulk ids, the customers in doubt) travels to the outcome event.
    const startPolling = new Pass(this, "StartPolling", {
      parameters: {
        "summary.$": "States.JsonMerge($.summary, $.submitted.answer.summary, false)",
        "follow.$": "$.submitted.answer.follow",
        seen: [],
        polls: 0,
      },
    }).next(wait);
    // The command comes from the execution input: with its plan, the function names every customer's state.
    const checkStatus = withTaskRetries(
      invoke(
        "CheckStatus",
        TaskInput.fromObject({
          action: "outcome",
          command: JsonPath.objectAt("$$.Execution.Input"),
          requests: JsonPath.listAt("$.follow.requests"),
          submittedAt: JsonPath.numberAt("$.follow.submittedAt"),
          seen: JsonPath.listAt("$.seen"),
          sent: JsonPath.stringAt("$.follow.sent"),
        }),
        "$.checked",
        { task: OUTCOME_TASK },
      ),
    );
    checkStatus.addCatch(
      afterAcceptance("CheckStatusUnanswered", { "correlationId.$": "$.summary.correlationId", error: unansweredError }),
      {
        errors: ["States.ALL"],
        resultPath: "$.caught",
      },
    );
    const countPoll = new Pass(this, "CountPoll", {
      parameters: {
        "summary.$": "$.summary",
        "follow.$": "$.follow",
        "seen.$": "$.checked.answer.seen",
        "polls.$": "States.MathAdd($.polls, 1)",
      },
    });
    const minutes = Math.round(props.statusTimeout.toMinutes({ integral: false }));
    const lastCheck = Condition.numberGreaterThanEquals("$.polls", maxChecks - 1);
    wait.next(checkStatus);
    checkStatus.next(
      new Choice(this, "Applied?")
        .when(
          Condition.stringEquals("$.checked.answer.status", "complete"),
          describe("DescribeCompleted", "States.JsonMerge($.summary, $.checked.answer.outcome, false)").next(completed),
        )
        .when(
          Condition.and(
            Condition.stringEquals("$.checked.answer.status", "failed"),
            Condition.or(Condition.booleanEquals("$.checked.answer.retryable", false), lastCheck),
          ),
          afterAcceptance("DescribeOutcomeFailure", {
            "correlationId.$": "$.summary.correlationId",
            "error.$": "$.checked.answer.outcome.error",
          }),
        )
        .when(
          lastCheck,
          afterAcceptance("DescribeIncomplete", {
            "correlationId.$": "$.summary.correlationId",
            error: {
              name: INCOMPLETE_ERROR,
              "message.$": `States.Format('Kustomer did not complete every bulk operation within ${minutes} minutes: bulk ids {} with statuses {}', States.JsonToString($.checked.answer.incomplete[*].bulkId), States.JsonToString($.checked.answer.incomplete[*].status))`,
            },
          }),
        )
        .otherwise(countPoll.next(wait)),
    );

    const submitted = new Choice(this, "Submitted?");
    submit.next(submitted);
    resubmitTask.next(submitted);
    submitted
      .when(Condition.stringEquals("$.submitted.answer.status", "submitted"), startPolling)
      .when(
        Condition.stringEquals("$.submitted.answer.status", "dryRun"),
        describe("DescribeDryRun", "States.JsonMerge($.summary, $.submitted.answer.outcome, false)").next(completed),
      )
      .when(
        Condition.and(
          Condition.stringEquals("$.submitted.answer.status", "failed"),
          Condition.booleanEquals("$.submitted.answer.retryable", true),
          Condition.numberLessThan("$.attempts", WORKFLOW_RESUBMITS),
        ),
        resubmit,
      )
      .otherwise(describe("DescribeSubmitFailure", "States.JsonMerge($.summary, $.submitted.answer.outcome, false)").next(failed));

    const definition = new Choice(this, "HasCorrelationId?")
      // A path that is absent fails a comparison: presence is checked first.
      .when(
        Condition.and(Condition.isPresent("$.correlationId"), Condition.isString("$.correlationId")),
        start("UseCorrelationId", "$.correlationId").next(submit),
      )
      .otherwise(start("UseExecutionName", "$$.Execution.Name").next(submit));

    this.stateMachine = createStateMachine(this, definition, props.dataKey);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: "lambda:InvokeFunction on the workflow's one function, its versions and aliases included (the :* suffix); no other function.",
    });
  }
}
