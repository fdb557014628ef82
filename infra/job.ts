// Large jobs: a JSON Lines file of customer updates put under jobs/ in the job bucket starts a run of
// the job state machine. It cuts the file into batches of 100 lines, sends them with a Distributed Map
// no faster than the rate limit allows, follows every bulk operation until Kustomer has applied it,
// and writes the report and the retry file under results/<run>/ (CONTRACT §7).
import { type CfnElement, Duration, Stack, Validations } from "aws-cdk-lib";
import { EventField, type IEventBus, Rule, RuleTargetInput } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { Bucket } from "aws-cdk-lib/aws-s3";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import {
  Choice,
  Condition,
  DistributedMap,
  Fail,
  type IChainable,
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
import { JOB_COMPLETED_DETAIL_TYPE, JOB_FAILED_DETAIL_TYPE, JOB_PREFIX, OUTCOME_SOURCE, RESULTS_PREFIX } from "../lambda/contract/names.ts";
import { EVENT_DELIVERY_RETRIES } from "../lambda/contract/retry-policy.ts";
import type { DataKey } from "./data-key.ts";
import { BatchesReader, createJobBucket, denyJobFilesExceptFrom, grantSteps, keepResultsFor, ResultsWriter } from "./job-bucket.ts";
import type { ServiceFunction } from "./service-function.ts";
import { ANNOUNCE_RETRY, createStateMachine, withTaskRetries } from "./state-machine.ts";

export interface BulkUpdateJobProps {
  /** Runs every step of the job, the Distributed Map's children included (lambda/job-handler.ts). */
  fn: ServiceFunction;
  /** Child invocations at once: each sends one bulk request of 100 lines. */
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  pollInterval: Duration;
  /** After this long reading status, the report lists the lines still not settled as in doubt. */
  statusTimeout: Duration;
  dataKey: DataKey;
  /** Where a job file whose run cannot be started ends up. */
  deadLetterQueue: IQueue;
  /** The only roles that may put job files under jobs/. */
  producerRoleArns: string[];
  /** Beside the job's own function and state machine, the roles that may write or delete under results/. */
  resultWriterArns: string[];
  /** Where the job announces its end. */
  bus: IEventBus;
}

export class BulkUpdateJob extends Construct {
  readonly bucket: Bucket;
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BulkUpdateJobProps) {
    super(scope, id);
    this.bucket = createJobBucket(this, props.dataKey);
    denyJobFilesExceptFrom(this.bucket, props.producerRoleArns);
    grantSteps(this.bucket, props.fn);
    this.stateMachine = createStateMachine(this, this.definition(props), props.dataKey);
    keepResultsFor(
      this.bucket,
      [props.fn.role?.roleArn ?? "", this.stateMachine.role.roleArn, ...props.resultWriterArns].filter(Boolean),
      props.dataKey,
    );
    this.acknowledgeGrants(props.fn);
    this.startOnJobFiles(props);
  }

  /**
   * Plan, send every batch (a Distributed Map, at most `maxConcurrency` at once), collect the results,
   * follow the operations until settled (or the status timeout), report, and announce the end on the
   * bus. The report is written whatever happened to the map: a map that stopped early is caught, and
   * fails the run only after the report. No state's Parameters hold a null: CDK drops nulls at synth.
   */
  private definition(props: BulkUpdateJobProps): IChainable {
    const bucket = this.bucket.bucketName;
    const run = JsonPath.executionName;
    const step = (name: string, payload: Record<string, unknown>, resultPath: string) =>
      withTaskRetries(
        new LambdaInvoke(this, name, {
          lambdaFunction: props.fn,
          payload: TaskInput.fromObject(payload),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          resultPath,
        }),
      );
    const announce = (name: string, detailType: string, detail: Record<string, unknown>) =>
      new EventBridgePutEvents(this, name, {
        entries: [
          {
            eventBus: props.bus,
            source: OUTCOME_SOURCE,
            detailType,
            detail: TaskInput.fromObject({ run, key: JsonPath.stringAt("$.key"), ...detail }),
          },
        ],
        resultPath: JsonPath.DISCARD,
      }).addRetry(ANNOUNCE_RETRY);
    const counts = Object.fromEntries(
      ["lines", "sent", "applied", "failed", "inDoubt", "unsent", "unchanged", "report", "retry"].map((field) => [
        field,
        JsonPath.stringAt(`$.report.${field}`),
      ]),
    );
    const error = { name: JsonPath.stringAt("$.failure.Error"), message: JsonPath.stringAt("$.failure.Cause") };
    const failRun = (name: string) => new Fail(this, name, { errorPath: "$.failure.Error", causePath: "$.failure.Cause" });
    /** A step that failed for good before any report: say so on the bus, then fail the run. */
    const stepFailed = announce("AnnounceStepFailed", JOB_FAILED_DETAIL_TYPE, { error }).next(failRun("JobStepFailed"));

    const start = new Pass(this, "Start", { parameters: { "key.$": "$.key", mapFailed: false, followFailed: false, polls: { count: 0 } } });
    const plan = step("Plan", { step: "plan", bucket, key: JsonPath.stringAt("$.key"), run }, "$.plan");
    plan.addCatch(stepFailed, { errors: ["States.ALL"], resultPath: "$.failure" });
    const map = new DistributedMap(this, "UpdateCustomers", {
      itemReader: new BatchesReader(this.bucket),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new ResultsWriter(this.bucket),
      resultPath: JsonPath.DISCARD,
    });
    // Each item of the plan is a child's whole request.
    map.itemProcessor(
      withTaskRetries(
        new LambdaInvoke(this, "SubmitLines", { lambdaFunction: props.fn, payloadResponseOnly: true, retryOnServiceExceptions: false }),
      ),
    );
    const collect = step(
      "Collect",
      {
        step: "collect",
        bucket,
        run,
        mapResultsPrefix: JsonPath.stringAt("$.plan.mapResultsPrefix"),
        mapFailed: JsonPath.objectAt("$.mapFailed"),
      },
      "$.progress",
    );
    map.addCatch(collect, { errors: ["States.ALL"], resultPath: "$.mapFailed" });
    collect.addCatch(stepFailed, { errors: ["States.ALL"], resultPath: "$.failure" });

    const maxChecks = Math.max(1, Math.ceil(props.statusTimeout.toSeconds() / props.pollInterval.toSeconds()));
    const countPoll = new Pass(this, "CountPoll", { parameters: { "count.$": "States.MathAdd($.polls.count, 1)" }, resultPath: "$.polls" });
    const wait = new Wait(this, "WaitForKustomer", { time: WaitTime.duration(props.pollInterval) });
    const follow = step("Follow", { step: "follow", bucket, key: JsonPath.stringAt("$.key"), run }, "$.progress");
    const report = step(
      "Report",
      {
        step: "report",
        bucket,
        key: JsonPath.stringAt("$.key"),
        run,
        statusTimeoutMinutes: Math.round(props.statusTimeout.toMinutes({ integral: false })),
        followFailed: JsonPath.objectAt("$.followFailed"),
      },
      "$.report",
    );
    // Following stopped for good (after its retries): the report says what was recorded, the rest in doubt, and why.
    follow.addCatch(report, { errors: ["States.ALL"], resultPath: "$.followFailed" });
    report.addCatch(stepFailed, { errors: ["States.ALL"], resultPath: "$.failure" });
    const settled = new Choice(this, "AllSettled?")
      .when(Condition.numberEquals("$.progress.pending", 0), report)
      .when(Condition.numberGreaterThanEquals("$.polls.count", maxChecks), report)
      .otherwise(countPoll);
    countPoll.next(wait);
    wait.next(follow);
    follow.next(settled);
    collect.next(settled);
    const mapFailed = new Pass(this, "MapFailed", {
      parameters: { "Error.$": "$.mapFailed.Error", "Cause.$": "$.mapFailed.Cause" },
      resultPath: "$.failure",
    }).next(announce("AnnounceJobFailed", JOB_FAILED_DETAIL_TYPE, { ...counts, error }).next(failRun("JobFailed")));
    report.next(
      new Choice(this, "MapFailed?")
        .when(
          Condition.isBoolean("$.mapFailed"),
          announce("AnnounceJobCompleted", JOB_COMPLETED_DETAIL_TYPE, counts).next(
            new Succeed(this, "JobDone", { outputPath: "$.report" }),
          ),
        )
        .otherwise(mapFailed),
    );
    return start.next(plan).next(map).next(collect);
  }

  /** Dropping a file under jobs/ starts a job on it; a start that keeps failing lands in the dead-letter queue. */
  private startOnJobFiles({ dataKey, deadLetterQueue }: BulkUpdateJobProps): void {
    const stack = Stack.of(this);
    // Named, so the role that starts the job can trust this rule alone without a reference cycle.
    const ruleName = `${stack.stackName}-job-file-arrived`;
    const role = new Role(this, "StartRole", {
      description: "kustomer-bulk-update: EventBridge starts the job state machine for a new job file",
      assumedBy: new ServicePrincipal("events.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnEquals: { "aws:SourceArn": stack.formatArn({ service: "events", resource: "rule", resourceName: ruleName }) },
        },
      }),
    });
    // Starting an execution encrypts its input with the state machine's key.
    dataKey.allow("JobStart", role);
    new Rule(this, "JobFileArrived", {
      ruleName,
      eventPattern: {
        source: ["aws.s3"],
        detailType: ["Object Created"],
        detail: { bucket: { name: [this.bucket.bucketName] }, object: { key: [{ prefix: JOB_PREFIX }] } },
      },
      targets: [
        new SfnStateMachine(this.stateMachine, {
          role,
          input: RuleTargetInput.fromObject({ key: EventField.fromPath("$.detail.object.key") }),
          deadLetterQueue,
          retryAttempts: EVENT_DELIVERY_RETRIES,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }

  /** The wildcards CDK grants for a Distributed Map, each scoped as far as the service allows. */
  private acknowledgeGrants(fn: IFunction): void {
    const logicalId = (construct: Construct) => Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
    const execution = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(this.stateMachine)}"}]}]}`;
    const findings: Array<[string, string]> = [
      [`Resource::<${logicalId(fn)}.Arn>:*`, "Invoking the job function of this stack, its versions included; no other function."],
      [
        `Resource::<${logicalId(this.bucket)}.Arn>/${RESULTS_PREFIX}/*`,
        "Reading the run's list of batches and writing the map's result files, under results/ only: their names are made per run.",
      ],
      [`Resource::${execution}:*`, "Describing and stopping this state machine's own Distributed Map runs, whose names are made per run."],
      [`Resource::${execution}/*:*`, "The child executions of this state machine's own Distributed Map runs."],
    ];
    for (const [finding, reason] of findings) {
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}
