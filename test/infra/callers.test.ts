// Who may order CRM writes (CONTRACT §0.1), simulated against the synthesized policies. On the bus: a
// request source only from the listed producers, the outcome source only from the service's own state
// machines, whatever else a batch carries; other sources stay open to the account. On the API: only
// callerRoleArns, when given.
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EVENT_SOURCE, OUTCOME_SOURCE } from "../../lambda/contract/names.ts";
import { synthApp } from "../../local/synth.ts";
import { ACCOUNT, Permissions } from "../support/permissions.ts";

const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/order-sync`;
const OUTSIDER = `arn:aws:iam::${ACCOUNT}:role/anyone-with-put-events`;
/** What an account's broad role may do: put any event on any bus. */
const mayPutAnything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: "*" }] }];

function permissionsOf(context: Record<string, unknown>) {
  const template = Template.fromStack(synthApp(context).stack).toJSON();
  const permissions = new Permissions(template);
  const bus = permissions.arnOf("AWS::Events::EventBus", "Bus");
  const roleOf = (prefix: string) =>
    template.Resources[permissions.idOf("AWS::StepFunctions::StateMachine", prefix)].Properties.RoleArn["Fn::GetAtt"][0] as string;
  const put = (principal: string, sources: string[]) =>
    permissions.decide({
      principal,
      action: "events:PutEvents",
      resource: bus,
      context: { "events:source": sources },
      ...(principal.startsWith("arn:") ? { identity: mayPutAnything } : {}),
    });
  return { put, workflowRole: roleOf("WorkflowStateMachine"), jobRole: roleOf("JobStateMachine") };
}

describe("the bus, with a producer listed", () => {
  let bus: ReturnType<typeof permissionsOf>;
  beforeAll(() => {
    bus = permissionsOf({ producerRoleArns: PRODUCER });
  });

  it("lets the producer put a request", async () => {
    expect(await bus.put(PRODUCER, [DEFAULT_EVENT_SOURCE])).toBe("Allowed");
  });

  it("denies anyone else a request, alone or in a batch that mixes sources", async () => {
    expect(await bus.put(OUTSIDER, [DEFAULT_EVENT_SOURCE])).toBe("ExplicitlyDenied");
    expect(await bus.put(OUTSIDER, ["com.example.inventory", DEFAULT_EVENT_SOURCE])).toBe("ExplicitlyDenied");
  });

  it("lets only the workflow and the job put the outcome source", async () => {
    expect(await bus.put(bus.workflowRole, [OUTCOME_SOURCE])).toBe("Allowed");
    expect(await bus.put(bus.jobRole, [OUTCOME_SOURCE])).toBe("Allowed");
    expect(await bus.put(OUTSIDER, [OUTCOME_SOURCE])).toBe("ExplicitlyDenied");
    expect(await bus.put(PRODUCER, [DEFAULT_EVENT_SOURCE, OUTCOME_SOURCE])).toBe("ExplicitlyDenied");
  });

  it("lets the state machines put the outcome source only, alone or in a mixed batch", async () => {
    for (const role of [bus.workflowRole, bus.jobRole]) {
      expect(await bus.put(role, [DEFAULT_EVENT_SOURCE])).toBe("ExplicitlyDenied");
      expect(await bus.put(role, ["com.example.inventory"])).toBe("ExplicitlyDenied");
      expect(await bus.put(role, [OUTCOME_SOURCE, "com.example.inventory"])).toBe("ExplicitlyDenied");
    }
  });

  it("leaves other sources to the account's own policies", async () => {
    expect(await bus.put(OUTSIDER, ["com.example.inventory"])).toBe("Allowed");
  });
});

describe("the bus, with no producer listed", () => {
  it("closes the request path to everyone, as for job files", async () => {
    const bus = permissionsOf({});
    expect(await bus.put(OUTSIDER, [DEFAULT_EVENT_SOURCE])).toBe("ExplicitlyDenied");
    expect(await bus.put(bus.workflowRole, [OUTCOME_SOURCE])).toBe("Allowed");
  });
});

describe("the API, with callerRoleArns", () => {
  it("lets a listed role call and denies any other, whatever its IAM allows", async () => {
    const template = Template.fromStack(synthApp({ callerRoleArns: PRODUCER }).stack).toJSON();
    const permissions = new Permissions(template);
    const apiId = permissions.idOf("AWS::ApiGateway::RestApi", "Api");
    const route = `arn:aws:execute-api:us-east-1:${ACCOUNT}:${apiId}/v1/PUT/customers/bulk`;
    const mayInvokeAnything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] }];
    const invoke = (principal: string) =>
      permissions.decide({ principal, action: "execute-api:Invoke", resource: route, identity: mayInvokeAnything });
    expect(await invoke(PRODUCER)).toBe("Allowed");
    expect(await invoke(OUTSIDER)).toBe("ExplicitlyDenied");
  });
});

describe("the job bucket's results/", () => {
  const OPERATOR = `arn:aws:iam::${ACCOUNT}:role/kustomer-bulk-update-operator`;
  const mayUseS3 = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }];
  let permissions: Permissions;
  let bucket: string;
  let dataKey: string;
  let jobRole: string;
  beforeAll(() => {
    const template = Template.fromStack(synthApp({ operatorRoleArn: OPERATOR, producerRoleArns: PRODUCER }).stack).toJSON();
    permissions = new Permissions(template);
    bucket = permissions.arnOf("AWS::S3::Bucket", "JobBucket");
    dataKey = permissions.arnOf("AWS::KMS::Key", "DataKey");
    jobRole = template.Resources[permissions.idOf("AWS::Lambda::Function", "JobFunction")].Properties.Role["Fn::GetAtt"][0];
  });
  const call = (principal: string, action: string, key: string, context: Record<string, string> = {}) =>
    permissions.decide({
      principal,
      action,
      resource: `${bucket}/${key}`,
      context: { "aws:SecureTransport": "true", ...context },
      ...(principal.startsWith("arn:") ? { identity: mayUseS3 } : {}),
    });

  it("denies anyone but the service's writers and the operator writing or deleting a report or retry file", async () => {
    expect(await call(OUTSIDER, "s3:PutObject", "results/run-1/retry.jsonl")).toBe("ExplicitlyDenied");
    expect(await call(OUTSIDER, "s3:DeleteObject", "results/run-1/report.json")).toBe("ExplicitlyDenied");
    // A producer puts job files, not results.
    expect(await call(PRODUCER, "s3:PutObject", "results/run-1/report.json")).toBe("ExplicitlyDenied");
    expect(await call(PRODUCER, "s3:PutObject", "jobs/nightly.jsonl")).toBe("Allowed");
    expect(await call(OPERATOR, "s3:DeleteObject", "results/run-1/report.json")).toBe("Allowed");
    expect(await call(OPERATOR, "s3:GetObject", "results/run-1/report.json")).toBe("Allowed");
    expect(await call(jobRole, "s3:PutObject", "results/run-1/report.json")).toBe("Allowed");
  });

  it("lets the operator redrive the dead-letter queue into the burst queue, and nobody else send there", async () => {
    const queue = permissions.arnOf("AWS::SQS::Queue", "BurstQueue");
    const mayUseSqs = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sqs:*", Resource: "*" }] }];
    const send = (principal: string) =>
      permissions.decide({
        principal,
        action: "sqs:SendMessage",
        resource: queue,
        identity: mayUseSqs,
        context: { "aws:SecureTransport": "true" },
      });
    expect(await send(OPERATOR)).toBe("Allowed");
    expect(await send(OUTSIDER)).toBe("ExplicitlyDenied");
  });

  it("denies a write whose encryption header names anything but the data key, and takes one that sends none", async () => {
    expect(await call(PRODUCER, "s3:PutObject", "jobs/a.jsonl")).toBe("Allowed");
    expect(await call(PRODUCER, "s3:PutObject", "jobs/a.jsonl", { "s3:x-amz-server-side-encryption": "AES256" })).toBe("ExplicitlyDenied");
    expect(
      await call(PRODUCER, "s3:PutObject", "jobs/a.jsonl", {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": dataKey,
      }),
    ).toBe("Allowed");
    expect(
      await call(PRODUCER, "s3:PutObject", "jobs/a.jsonl", {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": `arn:aws:kms:us-east-1:${ACCOUNT}:key/another`,
      }),
    ).toBe("ExplicitlyDenied");
  });
});

describe("the data key, for a producer", () => {
  const mayUseAnyKey = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] }];
  it("encrypts through SQS and S3 only: never the execution history", async () => {
    const template = Template.fromStack(synthApp({ producerRoleArns: PRODUCER }).stack).toJSON();
    const permissions = new Permissions(template);
    const key = permissions.arnOf("AWS::KMS::Key", "DataKey");
    const queue = permissions.arnOf("AWS::SQS::Queue", "BurstQueue");
    const bucket = permissions.arnOf("AWS::S3::Bucket", "JobBucket");
    const use = (action: string, service: string, context: Record<string, string>) =>
      permissions.decide({
        principal: PRODUCER,
        action,
        resource: key,
        identity: mayUseAnyKey,
        context: { "kms:ViaService": `${service}.us-east-1.amazonaws.com`, "kms:CallerAccount": ACCOUNT, ...context },
      });
    expect(await use("kms:GenerateDataKey", "sqs", { "kms:EncryptionContext:aws:sqs:arn": queue })).toBe("Allowed");
    expect(await use("kms:GenerateDataKey", "s3", { "kms:EncryptionContext:aws:s3:arn": bucket })).toBe("Allowed");
    expect(await use("kms:Decrypt", "states", {})).not.toBe("Allowed");
  });
});

describe("the Kustomer key's secret", () => {
  const ADMIN = `arn:aws:iam::${ACCOUNT}:role/kustomer-key-admin`;
  const mayUseSecrets = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:*", Resource: "*" }] }];
  let permissions: Permissions;
  let secret: string;
  let functionRole: string;
  beforeAll(() => {
    const template = Template.fromStack(synthApp({ producerRoleArns: PRODUCER, kustomerKeyAdminRoleArn: ADMIN }).stack).toJSON();
    permissions = new Permissions(template);
    secret = permissions.arnOf("AWS::SecretsManager::Secret", "KustomerApiKey", "Ref");
    functionRole = template.Resources[permissions.idOf("AWS::Lambda::Function", "BulkUpdateFunction")].Properties.Role["Fn::GetAtt"][0];
  });
  const call = (principal: string, action: string) =>
    permissions.decide({ principal, action, resource: secret, ...(principal.startsWith("arn:") ? { identity: mayUseSecrets } : {}) });

  it("is read by the service's functions only: a producer whose IAM allows every secret is denied", async () => {
    expect(await call(functionRole, "secretsmanager:GetSecretValue")).toBe("Allowed");
    expect(await call(PRODUCER, "secretsmanager:GetSecretValue")).toBe("ExplicitlyDenied");
    expect(await call(ADMIN, "secretsmanager:GetSecretValue")).toBe("ExplicitlyDenied");
  });

  it("is changed by the admin role only: nobody else may replace the key or the secret's policy", async () => {
    expect(await call(ADMIN, "secretsmanager:PutSecretValue")).toBe("Allowed");
    for (const action of [
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecret",
      "secretsmanager:PutResourcePolicy",
      "secretsmanager:DeleteResourcePolicy",
    ]) {
      expect({ action, decision: await call(PRODUCER, action) }).toEqual({ action, decision: "ExplicitlyDenied" });
    }
  });
});

describe("the shared table", () => {
  it("holds each function to its own kinds of record (dynamodb:LeadingKeys)", async () => {
    const template = Template.fromStack(synthApp({}).stack).toJSON();
    const permissions = new Permissions(template);
    const table = permissions.arnOf("AWS::DynamoDB::Table", "IdempotencyTable");
    const roleOf = (prefix: string) =>
      template.Resources[permissions.idOf("AWS::Lambda::Function", prefix)].Properties.Role["Fn::GetAtt"][0] as string;
    const call = (fn: string, action: string, key: string) =>
      permissions.decide({ principal: roleOf(fn), action, resource: table, context: { "dynamodb:LeadingKeys": [key] } });
    expect(await call("BulkUpdateFunction", "dynamodb:PutItem", "idempotency#5f2a")).toBe("Allowed");
    expect(await call("BulkUpdateFunction", "dynamodb:BatchGetItem", "bulk#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
    expect(await call("BulkUpdateFunction", "dynamodb:BatchGetItem", "idempotency#5f2a")).not.toBe("Allowed");
    expect(await call("WorkflowFunction", "dynamodb:GetItem", "idempotency#5f2a")).toBe("Allowed");
    expect(await call("WorkflowFunction", "dynamodb:GetItem", "bulk#5e4c41c8c9f1e7001a5a3b2c")).not.toBe("Allowed");
    expect(await call("WorkflowFunction", "dynamodb:BatchWriteItem", "bulk#5e4c41c8c9f1e7001a5a3b2c")).not.toBe("Allowed");
  });

  it("lets the submitting functions read and update customers' records in the changes table, and nothing else there", async () => {
    const template = Template.fromStack(synthApp({ sendOnlyChanges: true }).stack).toJSON();
    const permissions = new Permissions(template);
    const table = permissions.arnOf("AWS::DynamoDB::Table", "ChangesTable");
    const roleOf = (prefix: string) =>
      template.Resources[permissions.idOf("AWS::Lambda::Function", prefix)].Properties.Role["Fn::GetAtt"][0] as string;
    const call = (fn: string, action: string, key: string) =>
      permissions.decide({ principal: roleOf(fn), action, resource: table, context: { "dynamodb:LeadingKeys": [key] } });
    for (const fn of ["BulkUpdateFunction", "WorkflowFunction", "JobFunction"]) {
      expect(await call(fn, "dynamodb:BatchGetItem", "customer#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
      expect(await call(fn, "dynamodb:UpdateItem", "customer#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
      expect(await call(fn, "dynamodb:PutItem", "customer#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
      expect(await call(fn, "dynamodb:UpdateItem", "idempotency#5f2a")).not.toBe("Allowed");
      expect(await call(fn, "dynamodb:DeleteItem", "customer#5e4c41c8c9f1e7001a5a3b2c")).not.toBe("Allowed");
    }
    expect(await call("QueueConsumerFunction", "dynamodb:BatchGetItem", "customer#5e4c41c8c9f1e7001a5a3b2c")).not.toBe("Allowed");
  });
});
