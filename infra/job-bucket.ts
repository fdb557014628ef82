// The job bucket: job files arrive under jobs/ (from the listed producers only), and each run keeps
// its files under results/<run>/ (written by the service and the operator only), all under the data
// key. Also the Distributed Map's reader and writer, each held to results/. Built in the job
// construct's scope, so every resource keeps its logical id.
import { type CfnElement, Duration, Lazy, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Effect, type IRole, PolicyDocument, PolicyStatement, Role, ServicePrincipal, StarPrincipal } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { JsonPath, ResultWriterV2, S3JsonItemReader } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { JOB_PREFIX, RESULTS_PREFIX } from "../lambda/contract/names.ts";
import type { DataKey } from "./data-key.ts";
import type { ServiceFunction } from "./service-function.ts";

/** The map reads the run's own list of batches, under results/ only. */
export class BatchesReader extends S3JsonItemReader {
  constructor(private readonly jobBucket: Bucket) {
    super({ bucket: jobBucket, key: JsonPath.stringAt("$.plan.batchesKey") });
  }

  override providePolicyStatements(): PolicyStatement[] {
    return [new PolicyStatement({ actions: ["s3:GetObject"], resources: [this.jobBucket.arnForObjects(`${RESULTS_PREFIX}/*`)] })];
  }
}

/** The map writes its results under the run's own prefix in results/ only. */
export class ResultsWriter extends ResultWriterV2 {
  constructor(private readonly jobBucket: Bucket) {
    super({ bucket: jobBucket, prefix: JsonPath.stringAt("$.plan.mapResultsPrefix") });
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

/** The job bucket, with its access-log bucket. */
export function createJobBucket(scope: Construct, dataKey: DataKey): Bucket {
  const accessLogs = new Bucket(scope, "AccessLogs", {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    // ACLs off: S3's log delivery is granted by the bucket policy instead.
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(365) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys.
  const bucket: Bucket = new Bucket(scope, "Bucket", {
    encryption: BucketEncryption.KMS,
    encryptionKey: dataKey.key,
    bucketKeyEnabled: true,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "job-bucket/",
    // S3 tells EventBridge when a job file arrives.
    eventBridgeEnabled: true,
    notificationsHandlerRole: notificationsHandlerRole(scope, () => bucket.bucketArn),
    // Job files and results hold personal data: keep them no longer than needed.
    // An upload a step could not finish (the report, the retry file) is not kept, nor paid for.
    lifecycleRules: [{ expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });

  return bucket;
}

/** The job's steps read job files and write results, each under its own prefix only. */
export function grantSteps(bucket: Bucket, fn: ServiceFunction): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: ["s3:GetObject"], resources: [bucket.arnForObjects(`${JOB_PREFIX}*`)] }));
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [bucket.arnForObjects(`${RESULTS_PREFIX}/*`)] }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": [`${RESULTS_PREFIX}/*`] } },
    }),
  );
  const bucketId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  for (const [prefix, reason] of [
    [`${JOB_PREFIX}*`, "Reads the job files under jobs/, whose names the producers choose."],
    [`${RESULTS_PREFIX}/*`, "Reads and writes each run's own files under results/<run>/, whose names are made per run."],
  ] as const) {
    Validations.of(fn.role as Role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}]`, reason });
  }
}

/** Job files hold personal data and start CRM writes: only the listed producer roles may put them. */
export function denyJobFilesExceptFrom(bucket: Bucket, producerRoleArns: string[]): void {
  bucket.addToResourcePolicy(
    new PolicyStatement({
      sid: "JobFilesFromProducersOnly",
      effect: Effect.DENY,
      principals: [new StarPrincipal()],
      actions: ["s3:PutObject"],
      resources: [bucket.arnForObjects(`${JOB_PREFIX}*`)],
      ...(producerRoleArns.length ? { conditions: { ArnNotEquals: { "aws:PrincipalArn": producerRoleArns } } } : {}),
    }),
  );
}

/**
 * Reports and retry files are what operators act on (a retry file is uploaded again as a job): only
 * the service's writers and the operator may write or delete under results/. Any object written
 * with an encryption header must name the data key; one that sends none gets the bucket's default.
 */
export function keepResultsFor(bucket: Bucket, writerArns: string[], dataKey: DataKey): void {
  const deny = (sid: string, actions: string[], prefix: string, conditions: Record<string, unknown>) =>
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid,
        effect: Effect.DENY,
        principals: [new StarPrincipal()],
        actions,
        resources: [bucket.arnForObjects(`${prefix}*`)],
        conditions,
      }),
    );
  deny("ResultsFromTheServiceOnly", ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"], `${RESULTS_PREFIX}/`, {
    ArnNotEquals: { "aws:PrincipalArn": writerArns },
  });
  deny("OnlyKmsEncryption", ["s3:PutObject"], "", {
    StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
    Null: { "s3:x-amz-server-side-encryption": "false" },
  });
  deny("OnlyTheDataKey", ["s3:PutObject"], "", {
    StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": dataKey.key.keyArn },
    Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" },
  });
}

/**
 * CDK's deploy-time handler that turns the bucket's EventBridge notifications on runs with this role:
 * PutBucketNotification on this bucket, nothing else. Not even logs, which Lambda would keep forever
 * in a group of its making; the handler reports a failure to CloudFormation in its answer anyway.
 */
function notificationsHandlerRole(scope: Construct, bucketArn: () => string): IRole {
  const role = new Role(scope, "NotificationsHandlerRole", {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description: "kustomer-bulk-update: CDK's handler that turns on the job bucket's EventBridge notifications",
    inlinePolicies: {
      BucketNotifications: new PolicyDocument({
        // Lazy: the bucket is made with this role, so its ARN exists only once the bucket does.
        statements: [
          new PolicyStatement({
            actions: ["s3:PutBucketNotification"],
            resources: [Lazy.string({ produce: bucketArn })],
          }),
        ],
      }),
    },
  });
  // CDK would add the managed basic execution policy and a policy of its own: the one above is all it gets.
  return role.withoutPolicyUpdates();
}
