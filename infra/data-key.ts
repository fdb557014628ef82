// One customer-managed key for everything that holds customers' personal data at rest: the queues
// (the dead-letter queue keeps whole commands for 14 days), the job bucket, the state machines'
// execution data, the log groups and the secret. Its key policy names every principal that may use
// it: the account may administer the key, but an IAM policy alone never lets anyone decrypt with it.
import { ArnFormat, Fn, Stack } from "aws-cdk-lib";
import {
  AccountRootPrincipal,
  ArnPrincipal,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

/** What administrators (through IAM) may do: manage the key, never use it. */
const ADMINISTRATION = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListAliases",
  "kms:ListGrants",
  "kms:ListKeyPolicies",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RevokeGrant",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
];
/** Envelope encryption as SQS, S3, Step Functions and Secrets Manager do it for their callers. */
export const KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey*"];

export interface DataKeyProps {
  /** A role that may read the data (dead letters, job results, execution history). @default none */
  operatorRoleArn?: string;
}

export class DataKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: DataKeyProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new Key(this, "Key", {
      enableKeyRotation: true,
      description: "kustomer-bulk-update: customers' personal data at rest (queues, job bucket, workflows, logs, secret)",
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: "AdministerOnly",
            principals: [new AccountRootPrincipal()],
            actions: ADMINISTRATION,
            resources: ["*"],
          }),
        ],
      }),
    });
    // CloudWatch Logs encrypts this stack's log groups, and no others of the account, with it.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "LogGroupsOfThisAccount",
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": stack.formatArn({
              service: "logs",
              resource: "log-group",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.operatorRoleArn) this.allow("Operator", new ArnPrincipal(props.operatorRoleArn));
    this.allowDeployment(stack);
  }

  /**
   * The principal that deploys the stack (CDK bootstrap's CloudFormation execution role) creates the
   * table and the state machines under this key, and those services use the key on its behalf: the
   * table through grants DynamoDB creates, the state machines to check the key. Only through those
   * services, and grants only for an AWS resource: a plain CreateGrant would let any administrator
   * grant themselves Decrypt.
   */
  private allowDeployment(stack: Stack): void {
    const role = (stack.synthesizer as { cloudFormationExecutionRoleArn?: string }).cloudFormationExecutionRoleArn;
    // Another synthesizer deploys with the caller's own credentials, which no policy here can name.
    if (!role) return;
    const deployer = new ArnPrincipal(Fn.sub(role));
    const via = (service: string) => ({ "kms:ViaService": `${service}.${stack.region}.amazonaws.com` });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "DeployTablesGrants",
        principals: [deployer],
        actions: ["kms:CreateGrant"],
        resources: ["*"],
        conditions: { StringEquals: via("dynamodb"), Bool: { "kms:GrantIsForAWSResource": "true" } },
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "DeployTables",
        principals: [deployer],
        actions: [...KEY_USE, "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"],
        resources: ["*"],
        conditions: { StringEquals: via("dynamodb") },
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "DeployStateMachines",
        principals: [deployer],
        actions: ["kms:GenerateDataKey", "kms:DescribeKey"],
        resources: ["*"],
        conditions: { StringEquals: via("states") },
      }),
    );
  }

  /**
   * Lets principals use the key only through SQS and S3, for this account's queues and buckets: the
   * encryption context each service gives the key names them (with a bucket key, S3's names the
   * bucket). The resources themselves cannot be named here: each is encrypted under this key, so its
   * ARN in the key's policy would be a circular reference.
   */
  allowThroughQueuesAndBuckets(sid: string, principals: IPrincipal[]): void {
    const stack = Stack.of(this);
    for (const [service, arns] of [
      ["sqs", stack.formatArn({ service: "sqs", resource: "*", arnFormat: ArnFormat.NO_RESOURCE_NAME })],
      ["s3", `arn:${stack.partition}:s3:::*`],
    ] as const) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: `${sid}Through${service.toUpperCase()}`,
          principals,
          actions: KEY_USE,
          resources: ["*"],
          conditions: {
            StringEquals: { "kms:ViaService": `${service}.${stack.region}.amazonaws.com` },
            ArnLike: { [`kms:EncryptionContext:aws:${service}:arn`]: arns },
          },
        }),
      );
    }
  }

  /** Lets one principal encrypt and decrypt with the key, by the key policy itself. */
  allow(sid: string, principal: IPrincipal, conditions?: Record<string, unknown>): void {
    this.key.addToResourcePolicy(new PolicyStatement({ sid, principals: [principal], actions: KEY_USE, resources: ["*"], conditions }));
  }
}
