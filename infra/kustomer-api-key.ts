// Where the functions read the Kustomer API key: a secret the stack makes for an operator to fill, or
// one the organisation already has, named by ARN or by name; and the grant that lets a function read
// that one secret and nothing else.
import { ArnFormat, Fn, Lazy, Stack, Validations } from "aws-cdk-lib";
import { AnyPrincipal, Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type CfnSecret, type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

export interface KustomerApiKeyProps {
  /**
   * An existing secret, by its complete ARN (with the six random characters).
   * @default - the stack makes a secret, unless `secretName` names one
   */
  secretArn?: string;
  /**
   * An existing secret, by name.
   * @default - the stack makes a secret, unless `secretArn` names one
   */
  secretName?: string;
  /**
   * The customer-managed key an existing secret is encrypted with: readers may decrypt with it, through
   * Secrets Manager only.
   * @default - no kms:Decrypt grant: the secret's key lets the functions decrypt already (AWS's own, or `encryptionKey`)
   */
  secretKmsKeyArn?: string;
  /** Encrypts the secret the stack makes. */
  encryptionKey: IKey;
  /**
   * The one role that may put the key in, or change the secret or its policy (beside CloudFormation).
   * @default - none: any principal whose IAM allows secretsmanager:PutSecretValue may replace the key
   */
  adminRoleArn?: string;
}

/**
 * The secret the stack makes keeps its logical id from the releases that made it inline: a new id would
 * replace the secret, and the key an operator put in it would be gone.
 */
const MADE_SECRET_LOGICAL_ID = "KustomerApiKey1B69D97F";

export class KustomerApiKey extends Construct {
  readonly secret: ISecret;
  /** What the functions' KUSTOMER_SECRET_ID names: the secret's name when it was given, else its ARN. */
  readonly secretId: string;
  /** The secret's name, for the operator who puts the key in. */
  readonly secretName: string;
  private readonly readableArn: string;
  private readonly readers: string[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: KustomerApiKeyProps,
  ) {
    super(scope, id);
    if (props.secretArn && props.secretName) throw new Error("KustomerApiKey: name the secret by secretArn or by secretName, not both");

    this.secret = this.source();
    this.secretId = props.secretName ?? this.secret.secretArn;
    this.secretName = props.secretName ?? this.secret.secretName;
    // A secret named by name is read by its ARN's pattern: Secrets Manager adds six random characters.
    this.readableArn =
      props.secretArn ??
      (props.secretName
        ? Stack.of(this).formatArn({
            service: "secretsmanager",
            resource: "secret",
            resourceName: `${props.secretName}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })
        : this.secret.secretArn);
  }

  /** GetSecretValue on this one secret, and nothing else; kms:Decrypt only through Secrets Manager. */
  grantRead(fn: IFunction): void {
    if (fn.role) this.readers.push(fn.role.roleArn);
    fn.addToRolePolicy(new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [this.readableArn] }));
    if (this.props.secretKmsKeyArn) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["kms:Decrypt"],
          resources: [this.props.secretKmsKeyArn],
          conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
  }

  private source(): ISecret {
    if (this.props.secretArn) return Secret.fromSecretCompleteArn(this, "Imported", this.props.secretArn);
    if (this.props.secretName) return Secret.fromSecretNameV2(this, "Imported", this.props.secretName);
    const made = new Secret(this, "Secret", {
      description: 'Kustomer API key for kustomer-bulk-update: put the key in, as JSON {"apiKey": "..."} or as plain text',
      encryptionKey: this.props.encryptionKey,
    });
    (made.node.defaultChild as CfnSecret).overrideLogicalId(MADE_SECRET_LOGICAL_ID);
    this.guard(made);
    Validations.of(made).acknowledge({
      id: "AwsSolutions::AwsSolutions-SMG4",
      reason:
        "Kustomer API keys are issued only in Kustomer's admin UI, so no rotation Lambda can make one. Operators rotate by putting a new key in this secret; the function refetches it on a 401, so rotation needs no redeploy.",
    });
    return made;
  }

  /**
   * The key reads the whole CRM, and whoever replaces it redirects every update: the secret's own
   * policy denies reading it to all but the functions granted above, and, with an admin role, any
   * change of its value or policy to all but that role and CloudFormation. (An imported secret keeps
   * its own policy: the organisation sets it.)
   */
  private guard(secret: Secret): void {
    const stack = Stack.of(this);
    secret.addToResourcePolicy(
      new PolicyStatement({
        sid: "ReadByTheServiceOnly",
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ["secretsmanager:GetSecretValue"],
        resources: ["*"],
        conditions: { ArnNotEquals: { "aws:PrincipalArn": Lazy.list({ produce: () => this.readers }) } },
      }),
    );
    const deployer = (stack.synthesizer as { cloudFormationExecutionRoleArn?: string }).cloudFormationExecutionRoleArn;
    if (!this.props.adminRoleArn) return;
    // CloudFormation must keep changing the secret's policy (a replaced function role, for one).
    if (!deployer) {
      throw new Error(
        "KustomerApiKey: adminRoleArn needs CDK's default synthesizer, whose CloudFormation role the secret's policy can name; with another, CloudFormation would be locked out of the secret",
      );
    }
    secret.addToResourcePolicy(
      new PolicyStatement({
        sid: "ChangedByTheAdminOnly",
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: [
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecret",
          "secretsmanager:UpdateSecretVersionStage",
          "secretsmanager:RotateSecret",
          "secretsmanager:PutResourcePolicy",
          "secretsmanager:DeleteResourcePolicy",
        ],
        resources: ["*"],
        conditions: { ArnNotEquals: { "aws:PrincipalArn": [this.props.adminRoleArn, Fn.sub(deployer)] } },
      }),
    );
  }
}
