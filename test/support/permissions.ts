// AWS's permission evaluation, offline, over the synthesized template (@cloud-copilot/iam-simulate):
// a call (principal, action, resource, context keys) is checked against the principal's identity
// policies, the resource's policy, and for KMS the key policy, which must allow a use itself or
// delegate to the account. The template's intrinsics are resolved to concrete ARNs first.

import { createValidatedPolicy, validateResourcePolicy } from "@cloud-copilot/iam-policy";
import { runSimulation, runUnsafeSimulation } from "@cloud-copilot/iam-simulate";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

export interface Call {
  /** A role's logical id in the template, an ARN, or a service principal (events.amazonaws.com). */
  principal: string;
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** A principal the template does not hold (the deploying role): its identity policies. */
  identity?: unknown[];
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** What a Ref or Fn::GetAtt of each resource type stands for, named by its logical id. */
function attribute(id: string, type: string, name: string): string {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
  switch (type) {
    case "AWS::S3::Bucket":
      return name === "Arn" ? `arn:aws:s3:::${id.toLowerCase()}` : id.toLowerCase();
    case "AWS::IAM::Role":
      return name === "Arn" ? `arn:aws:iam::${ACCOUNT}:role/${id}` : id;
    case "AWS::Lambda::Function":
      return name === "Arn" ? arn("lambda", `function:${id}`) : id;
    case "AWS::StepFunctions::StateMachine":
      return name === "Name" ? id : arn("states", `stateMachine:${id}`);
    case "AWS::SQS::Queue":
      return name === "Arn" ? arn("sqs", id) : name === "QueueName" ? id : `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
    case "AWS::KMS::Key":
      return name === "Arn" ? arn("kms", `key/${id}`) : id;
    case "AWS::Events::EventBus":
      return name === "Arn" ? arn("events", `event-bus/${id}`) : id;
    case "AWS::Events::Rule":
      return arn("events", `rule/${id}`);
    case "AWS::DynamoDB::Table":
      return name === "Arn" ? arn("dynamodb", `table/${id}`) : id;
    case "AWS::Logs::LogGroup":
      return arn("logs", `log-group:${id}:*`);
    case "AWS::SecretsManager::Secret":
      return arn("secretsmanager", `secret:${id}`);
    case "AWS::SNS::Topic":
      return arn("sns", id);
    default:
      return `${id}.${name}`;
  }
}

const PSEUDO: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": REGION,
  "AWS::AccountId": ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::StackName": "KustomerBulkUpdate",
};

/** The template's intrinsics made concrete. */
export function resolve(resources: Resources, value: unknown): any {
  if (Array.isArray(value)) return value.map((entry) => resolve(resources, entry));
  if (!value || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key === "Ref")
    return PSEUDO[argument as string] ?? attribute(argument as string, resources[argument as string]?.Type ?? "", "Ref");
  if (entries.length === 1 && key === "Fn::GetAtt") {
    const [id, name] = argument as [string, string];
    return attribute(id, resources[id]?.Type ?? "", name);
  }
  if (entries.length === 1 && key === "Fn::Join") {
    const [separator, parts] = argument as [string, unknown[]];
    return resolve(resources, parts).join(separator);
  }
  if (entries.length === 1 && key === "Fn::Split") {
    const [separator, text] = argument as [string, unknown];
    return String(resolve(resources, text)).split(separator);
  }
  if (entries.length === 1 && key === "Fn::Select") {
    const [index, list] = argument as [number, unknown];
    return (resolve(resources, list) as unknown[])[index];
  }
  if (entries.length === 1 && key === "Fn::Sub")
    return String(argument).replace(
      /\$\{([^}]+)\}/g,
      (_, name: string) => PSEUDO[name] ?? attribute(name, resources[name]?.Type ?? "", "Ref"),
    );
  return Object.fromEntries(entries.map(([field, inner]) => [field, resolve(resources, inner)]));
}

export class Permissions {
  private readonly resources: Resources;

  constructor(template: Record<string, any>) {
    this.resources = template.Resources;
  }

  /** A resource's logical id, by type and id prefix. */
  idOf(type: string, prefix: string): string {
    const ids = Object.entries(this.resources)
      .filter(([id, resource]) => resource.Type === type && id.startsWith(prefix))
      .map(([id]) => id);
    if (ids.length !== 1) throw new Error(`${ids.length} ${type} start with ${prefix}`);
    return ids[0] as string;
  }

  arnOf(type: string, prefix: string, name = "Arn"): string {
    const id = this.idOf(type, prefix);
    return attribute(id, type, name);
  }

  /** The role's inline policies and every AWS::IAM::Policy attached to it. */
  private identityPolicies(roleId: string): Array<{ name: string; policy: unknown }> {
    const role = this.resources[roleId];
    if (role?.Type !== "AWS::IAM::Role") return [];
    const inline = (role.Properties.Policies ?? []).map((policy: { PolicyName: string; PolicyDocument: unknown }) => ({
      name: policy.PolicyName,
      policy: resolve(this.resources, policy.PolicyDocument),
    }));
    const attached = Object.entries(this.resources)
      .filter(
        ([, resource]) =>
          resource.Type === "AWS::IAM::Policy" && resource.Properties.Roles?.some((ref: { Ref?: string }) => ref.Ref === roleId),
      )
      .map(([id, resource]) => ({ name: id, policy: resolve(this.resources, resource.Properties.PolicyDocument) }));
    return [...inline, ...attached];
  }

  /** The policy of the resource a call is on: the bucket's, the queue's, the key's, the role's trust. */
  private resourcePolicy(call: Call): unknown {
    const matching = (type: string, field: string, target: (resource: Record<string, any>) => unknown) =>
      Object.values(this.resources).find(
        (resource) =>
          resource.Type === type &&
          String(resolve(this.resources, target(resource.Properties))).length > 0 &&
          call.resource.startsWith(String(resolve(this.resources, target(resource.Properties)))),
      )?.Properties[field];
    if (call.resource.startsWith("arn:aws:s3:::")) {
      const bucket = call.resource.slice("arn:aws:s3:::".length).split("/")[0];
      const policy = Object.values(this.resources).find(
        (resource) => resource.Type === "AWS::S3::BucketPolicy" && resolve(this.resources, resource.Properties.Bucket) === bucket,
      );
      return policy ? resolve(this.resources, policy.Properties.PolicyDocument) : undefined;
    }
    if (call.resource.startsWith("arn:aws:kms:")) {
      const key = Object.entries(this.resources).find(
        ([id, resource]) => resource.Type === "AWS::KMS::Key" && call.resource === attribute(id, resource.Type, "Arn"),
      );
      return key ? resolve(this.resources, key[1].Properties.KeyPolicy) : undefined;
    }
    if (call.resource.startsWith("arn:aws:sqs:")) {
      const policy = Object.values(this.resources).find(
        (resource) =>
          resource.Type === "AWS::SQS::QueuePolicy" &&
          (resource.Properties.Queues as unknown[]).some((queue) =>
            String(resolve(this.resources, queue)).endsWith(`/${call.resource.split(":").at(-1)}`),
          ),
      );
      return policy ? resolve(this.resources, policy.Properties.PolicyDocument) : undefined;
    }
    if (call.resource.startsWith("arn:aws:events:") && call.resource.includes(":event-bus/")) {
      // A bus's policy is the statements of every AWS::Events::EventBusPolicy on it.
      const statements = Object.values(this.resources)
        .filter(
          (resource) =>
            resource.Type === "AWS::Events::EventBusPolicy" &&
            call.resource.endsWith(`:event-bus/${resolve(this.resources, resource.Properties.EventBusName)}`),
        )
        .map((resource) => resolve(this.resources, resource.Properties.Statement));
      return statements.length ? { Version: "2012-10-17", Statement: statements } : undefined;
    }
    if (call.resource.startsWith("arn:aws:secretsmanager:")) {
      const policy = Object.values(this.resources).find(
        (resource) =>
          resource.Type === "AWS::SecretsManager::ResourcePolicy" &&
          resolve(this.resources, resource.Properties.SecretId) === call.resource,
      );
      return policy ? resolve(this.resources, policy.Properties.ResourcePolicy) : undefined;
    }
    if (call.resource.startsWith("arn:aws:execute-api:")) {
      // A REST API's policy names itself `execute-api:/*`, which API Gateway reads as the API's own ARN.
      const [, apiId] = /:execute-api:[^:]+:\d+:([^/]+)\//.exec(call.resource) ?? [];
      const api = Object.entries(this.resources).find(([id, resource]) => resource.Type === "AWS::ApiGateway::RestApi" && id === apiId);
      const policy = api?.[1].Properties.Policy;
      return policy
        ? JSON.parse(
            JSON.stringify(resolve(this.resources, policy)).replaceAll(
              '"execute-api:/*"',
              `"arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/*"`,
            ),
          )
        : undefined;
    }
    if (call.action === "sts:AssumeRole") {
      const role = Object.entries(this.resources).find(
        ([id, resource]) => resource.Type === "AWS::IAM::Role" && call.resource === attribute(id, resource.Type, "Arn"),
      );
      return role ? resolve(this.resources, role[1].Properties.AssumeRolePolicyDocument) : undefined;
    }
    return matching("", "", () => "");
  }

  async decide(call: Call): Promise<Decision> {
    const role = this.resources[call.principal]?.Type === "AWS::IAM::Role";
    const principal = role ? attribute(call.principal, "AWS::IAM::Role", "Arn") : call.principal;
    const context = { "aws:PrincipalArn": principal, "aws:PrincipalAccount": ACCOUNT, ...(call.context ?? {}) };
    const resourcePolicy = this.resourcePolicy(call);
    const simulation = {
      request: { principal, action: call.action, resource: { resource: call.resource, accountId: ACCOUNT }, contextVariables: context },
      identityPolicies: role
        ? this.identityPolicies(call.principal)
        : (call.identity ?? []).map((policy, index) => ({ name: `identity${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    };
    const result = await runSimulation(simulation as never, {});
    if (result.resultType === "error") throw new Error(`simulation refused ${JSON.stringify(call)}: ${JSON.stringify(result.errors)}`);
    const ignored = result.resultType === "single" ? result.result.ignoredContextKeys : [];
    // The validating entry point drops kms:EncryptionContext:* keys it cannot match: evaluate those as given.
    if (ignored?.some((key: string) => /^kms:encryptioncontext:/i.test(key))) {
      return runUnsafeSimulation(
        {
          ...simulation,
          ...(resourcePolicy
            ? { resourcePolicy: createValidatedPolicy(resourcePolicy as never, validateResourcePolicy, { name: "resource" }) }
            : {}),
        } as never,
        {},
      ) as Decision;
    }
    return result.overallResult as Decision;
  }
}
