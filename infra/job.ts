// Large jobs: a JSON Lines file of customer updates in the job bucket is read by a Step Functions
// Distributed Map, 100 lines per child invocation of the function, no faster than the rate limit
// allows; the results go to S3 and a last step writes one report beside them.
import { CfnElement, CfnResource, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Effect, PolicyStatement, Role, ServicePrincipal, StarPrincipal, type IRole } from "aws-cdk-lib/aws-iam";
import { EventField, Rule, RuleTargetInput } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import {
  DistributedMap,
  ItemBatcher,
  JsonPath,
  ResultWriterV2,
  S3JsonLItemReader,
  StateMachine,
  TaskInput,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { BulkUpdateFunction } from "./bulk-update-function.ts";
import type { DataKey } from "./data-key.ts";
import { createStateMachine, withTaskRetries } from "./state-machine.ts";

export const JOB_PREFIX = "jobs/";
export const RESULTS_PREFIX = "results";

export interface BulkUpdateJobProps {
  fn: IFunction;
  /** Child invocations at once: each sends one bulk request of 100 items. */
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  dataKey: DataKey;
  /** Where a job file whose run cannot be started ends up. */
  deadLetterQueue: IQueue;
  /** The only roles that may put job files under jobs/. */
  producerRoleArns: string[];
}

/** CDK's singleton handler that turns on a bucket's notifications: aws-s3 does not export it, so it is found by its id. */
function bucketNotificationsHandler(scope: Construct): Construct | undefined {
  return Stack.of(scope).node.children.find((child) => child.node.id.startsWith("BucketNotificationsHandler"));
}

/** The map reads the one job file it is given, and only under jobs/. */
class JobFileReader extends S3JsonLItemReader {
  constructor(private readonly jobBucket: Bucket) {
    super({ bucket: jobBucket, key: JsonPath.stringAt("$.key") });
  }

  override providePolicyStatements(): PolicyStatement[] {
    return [new PolicyStatement({ actions: ["s3:GetObject"], resources: [this.jobBucket.arnForObjects(`${JOB_PREFIX}*`)] })];
  }
}

/** The map writes its results under results/ only. */
class ResultsWriter extends ResultWriterV2 {
  constructor(private readonly jobBucket: Bucket) {
    super({ bucket: jobBucket, prefix: RESULTS_PREFIX });
  }

  override providePolicyStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        resources: [this.jobBucket.arnForObjects(`${RESULTS_PREFIX}/*`)],
      }),
    ];
  }
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
      // ACLs off: S3's log delivery is granted by the bucket policy instead.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys.
    this.bucket = new Bucket(this, "Bucket", {
      encryption: BucketEncryption.KMS,
      encryptionKey: props.dataKey.key,
      bucketKeyEnabled: true,
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

    this.denyJobFilesExceptFrom(props.producerRoleArns);

    this.reportFunction = new BulkUpdateFunction(this, "ReportFunction", {
      entry: "job-report",
      environment: { POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update-report" },
      memorySize: 1024,
      timeout: Duration.minutes(15),
      logsKey: props.dataKey.key,
    });
    props.dataKey.allow("ReportFunction", this.reportFunction.role as IRole);
    Validations.of(this.reportFunction).acknowledge({
      id: "Serverless::Serverless-LambdaDLQ",
      reason: "Only the job state machine invokes it, synchronously: a failure fails the execution, which the JobFailures alarm reports. A dead-letter queue receives asynchronous invocations only.",
    });
    this.reportFunction.addToRolePolicy(
      new PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [this.bucket.arnForObjects(`${RESULTS_PREFIX}/*`)] }),
    );
    Validations.of(this.reportFunction.role as Role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/${RESULTS_PREFIX}/*]`,
      reason: "Reads the Distributed Map's result files and writes the report, under results/ only: their names are made per run.",
    });

    const submitBatch = withTaskRetries(new LambdaInvoke(this, "SubmitBatch", { lambdaFunction: props.fn, payloadResponseOnly: true, retryOnServiceExceptions: false }));
    const map = new DistributedMap(this, "UpdateCustomers", {
      itemReader: new JobFileReader(this.bucket),
      itemBatcher: new ItemBatcher({ maxItemsPerBatch: 100 }),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new ResultsWriter(this.bucket),
      resultPath: "$.map",
    });
    map.itemProcessor(submitBatch);
    const report = withTaskRetries(
      new LambdaInvoke(this, "WriteReport", {
        lambdaFunction: this.reportFunction,
        payload: TaskInput.fromObject({ ResultWriterDetails: JsonPath.objectAt("$.map.ResultWriterDetails") }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
      }),
    );

    this.stateMachine = createStateMachine(this, map.next(report), props.dataKey);
    this.acknowledgeGrants(props.fn);
    this.startOnJobFiles(props);
    this.keepHandlerLogs(props.dataKey);
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
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }

  /** Job files hold personal data and start CRM writes: only the listed producer roles may put them. */
  private denyJobFilesExceptFrom(producerRoleArns: string[]): void {
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: "JobFilesFromProducersOnly",
        effect: Effect.DENY,
        principals: [new StarPrincipal()],
        actions: ["s3:PutObject"],
        resources: [this.bucket.arnForObjects(`${JOB_PREFIX}*`)],
        ...(producerRoleArns.length ? { conditions: { ArnNotEquals: { "aws:PrincipalArn": producerRoleArns } } } : {}),
      }),
    );
  }

  /** CDK's handler that turns on the bucket's notifications logs to a group it would keep forever. */
  private keepHandlerLogs(dataKey: DataKey): void {
    const cfnFunction = bucketNotificationsHandler(this)?.node.tryFindChild("Resource") as CfnResource | undefined;
    if (!cfnFunction) return;
    const logs = new LogGroup(this, "NotificationsHandlerLogs", {
      logGroupName: `/aws/lambda/${cfnFunction.ref}`,
      retention: RetentionDays.THREE_MONTHS,
      encryptionKey: dataKey.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The group must exist before the handler first runs, or Lambda creates one without retention.
    const notifications = this.bucket.node.tryFindChild("Notifications")?.node.defaultChild as CfnResource | undefined;
    notifications?.node.addDependency(logs);
  }

  /** The wildcards CDK grants for a Distributed Map, each scoped as far as the service allows. */
  private acknowledgeGrants(fn: IFunction): void {
    const logicalId = (construct: Construct) => Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
    const execution = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(this.stateMachine)}"}]}]}`;
    const findings: Array<[string, string]> = [
      [`Resource::<${logicalId(fn)}.Arn>:*`, "Invoking the bulk-update function of this stack, its versions included; no other function."],
      [`Resource::<${logicalId(this.reportFunction)}.Arn>:*`, "Invoking the report function of this stack, its versions included; no other function."],
      [`Resource::<${logicalId(this.bucket)}.Arn>/${JOB_PREFIX}*`, "Reading job files under jobs/, whose names the producers choose."],
      [`Resource::<${logicalId(this.bucket)}.Arn>/${RESULTS_PREFIX}/*`, "Writing the map's result files under results/, whose names are made per run."],
      [`Resource::${execution}:*`, "Describing and stopping this state machine's own Distributed Map runs, whose names are made per run."],
      [`Resource::${execution}/*:*`, "The child executions of this state machine's own Distributed Map runs."],
    ];
    for (const [finding, reason] of findings) {
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    }
    // CDK's own handler that turns on the bucket's EventBridge notifications.
    const notifications = bucketNotificationsHandler(this);
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason: "CDK's deploy-time handler that turns on the job bucket's EventBridge notifications: it runs once per deployment and only logs.",
      });
    }
  }
}
