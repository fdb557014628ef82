// Large jobs: a JSON Lines file of customer updates in the job bucket is read by a Step Functions
// Distributed Map, 100 lines per child invocation of the function, no faster than the rate limit
// allows; the results go to S3 and a last step writes one report beside them.
import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement, type Role } from "aws-cdk-lib/aws-iam";
import { EventField, Rule, RuleTargetInput } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import {
  DistributedMap,
  ItemBatcher,
  JitterType,
  JsonPath,
  ResultWriterV2,
  S3JsonLItemReader,
  StateMachine,
  TaskInput,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { BulkUpdateFunction } from "./bulk-update-function.ts";
import { createStateMachine } from "./state-machine.ts";
import { RETRYABLE_ERRORS } from "./workflow.ts";

export const JOB_PREFIX = "jobs/";
export const RESULTS_PREFIX = "results";

export interface BulkUpdateJobProps {
  fn: IFunction;
  /** Child invocations at once: each sends one bulk request of 100 items. */
  maxConcurrency: number;
  toleratedFailurePercentage: number;
}

export class BulkUpdateJob extends Construct {
  readonly bucket: Bucket;
  readonly stateMachine: StateMachine;
  readonly reportFunction: BulkUpdateFunction;

  constructor(scope: Construct, id: string, props: BulkUpdateJobProps) {
    super(scope, id);
    const accessLogs = new Bucket(this, "AccessLogs", {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: "AwsSolutions::AwsSolutions-S1",
      reason: "This bucket receives the job bucket's server access logs; logging it too would only log the logging.",
    });
    this.bucket = new Bucket(this, "Bucket", {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "job-bucket/",
      // S3 tells EventBridge when a job file arrives.
      eventBridgeEnabled: true,
      // Job files and results hold personal data: keep them no longer than needed.
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.reportFunction = new BulkUpdateFunction(this, "ReportFunction", {
      entry: "lambda/job-report.ts",
      environment: { POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update-report" },
      memorySize: 1024,
      timeout: Duration.minutes(15),
    });
    this.reportFunction.addToRolePolicy(
      new PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [this.bucket.arnForObjects(`${RESULTS_PREFIX}/*`)] }),
    );
    Validations.of(this.reportFunction.role as Role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/${RESULTS_PREFIX}/*]`,
      reason: "Reads the Distributed Map's result files and writes the report, under results/ only: their names are made per run.",
    });

    const submitBatch = new LambdaInvoke(this, "SubmitBatch", { lambdaFunction: props.fn, payloadResponseOnly: true, retryOnServiceExceptions: false }).addRetry({
      errors: RETRYABLE_ERRORS,
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 6,
      jitterStrategy: JitterType.FULL,
    });
    const map = new DistributedMap(this, "UpdateCustomers", {
      itemReader: new S3JsonLItemReader({ bucket: this.bucket, key: JsonPath.stringAt("$.key") }),
      itemBatcher: new ItemBatcher({ maxItemsPerBatch: 100 }),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new ResultWriterV2({ bucket: this.bucket, prefix: RESULTS_PREFIX }),
      resultPath: "$.map",
    });
    map.itemProcessor(submitBatch);
    const report = new LambdaInvoke(this, "WriteReport", {
      lambdaFunction: this.reportFunction,
      payload: TaskInput.fromObject({ ResultWriterDetails: JsonPath.objectAt("$.map.ResultWriterDetails") }),
      payloadResponseOnly: true,
    });

    this.stateMachine = createStateMachine(this, map.next(report));
    this.acknowledgeGrants(props.fn);

    // Dropping a file under jobs/ starts a job on it.
    new Rule(this, "JobFileArrived", {
      eventPattern: {
        source: ["aws.s3"],
        detailType: ["Object Created"],
        detail: { bucket: { name: [this.bucket.bucketName] }, object: { key: [{ prefix: JOB_PREFIX }] } },
      },
      targets: [new SfnStateMachine(this.stateMachine, { input: RuleTargetInput.fromObject({ key: EventField.fromPath("$.detail.object.key") }) })],
    });
  }

  /** The wildcards CDK grants for a Distributed Map, each scoped as far as the service allows. */
  private acknowledgeGrants(fn: IFunction): void {
    const logicalId = (construct: Construct) => Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
    const execution = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(this.stateMachine)}"}]}]}`;
    const findings: Array<[string, string]> = [
      [`Resource::<${logicalId(fn)}.Arn>:*`, "Invoking the bulk-update function of this stack, its versions included; no other function."],
      [`Resource::<${logicalId(this.reportFunction)}.Arn>:*`, "Invoking the report function of this stack, its versions included; no other function."],
      [`Resource::arn:<AWS::Partition>:s3:::<${logicalId(this.bucket)}>/*`, "Reading job files, whose names the operator chooses, and writing results, in this job bucket only."],
      [`Resource::${execution}:*`, "Describing and stopping this state machine's own Distributed Map runs, whose names are made per run."],
      [`Resource::${execution}/*:*`, "The child executions of this state machine's own Distributed Map runs."],
    ];
    for (const [finding, reason] of findings) {
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    }
    // CDK's own handler that turns on the bucket's EventBridge notifications.
    const notifications = Stack.of(this).node.children.find((child) => child.node.id.startsWith("BucketNotificationsHandler"));
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason: "CDK's deploy-time handler that turns on the job bucket's EventBridge notifications: it runs once per deployment and only logs.",
      });
    }
  }
}
