import { Match, Template } from "aws-cdk-lib/assertions";
import { ParamsAndSecretsVersions } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { SECRETS_EXTENSION_VERSION } from "../../infra/service-function.ts";
import { RETRYABLE_ERRORS } from "../../infra/state-machine.ts";
import { CONFIG_VARIABLES } from "../../lambda/platform/config.ts";
import { synthApp } from "../../local/synth.ts";
import { unwrittenReads } from "../support/asl-fields.ts";

const templateOf = (context: Record<string, unknown> = {}) => Template.fromStack(synthApp(context).stack);
const byDefault = templateOf();

/** The logical id of the stack's queue whose id starts with `name`. */
function queueId(name: string, template = byDefault): string {
  const id = Object.keys(template.findResources("AWS::SQS::Queue")).find((logicalId) => logicalId.startsWith(name));
  if (!id) throw new Error(`no queue ${name}`);
  return id;
}

/** The one resource of a type (or, given a prefix, the one whose logical id starts with it). */
function onlyResource(template: Template, type: string, prefix = ""): { logicalId: string; properties: Record<string, any> } {
  const found = Object.entries(template.findResources(type)).filter(([logicalId]) => logicalId.startsWith(prefix));
  expect(found).toHaveLength(1);
  const [logicalId, resource] = found[0] as [string, { Properties: Record<string, any> }];
  return { logicalId, properties: resource.Properties };
}

/** The logical id of the stack's customer-managed data key. */
function dataKeyId(template = byDefault): string {
  return onlyResource(template, "AWS::KMS::Key", "DataKey").logicalId;
}

/** The role policy statements of the function, flattened. */
function functionStatements(template: Template): Array<Record<string, any>> {
  const fn = onlyResource(template, "AWS::Lambda::Function", "BulkUpdateFunction");
  const roleId = fn.properties.Role["Fn::GetAtt"][0];
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
}

/** A Step Functions definition with its CloudFormation references replaced by placeholders. */
function definitionOf(template: Template): Record<string, any> {
  const { properties } = onlyResource(template, "AWS::StepFunctions::StateMachine", "Workflow");
  const parts = properties.DefinitionString["Fn::Join"][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === "string" ? part : "REF")).join(""));
}

describe("the function", () => {
  it("sets on every function only variables the function reads, besides the runtime's and the secrets extension's", () => {
    // The stack and config.ts name each variable apart: a misspelt one would be set and never read.
    const ours = new Set<string>(CONFIG_VARIABLES);
    const theirs = /^(NODE_OPTIONS|POWERTOOLS_SERVICE_NAME|PARAMETERS_SECRETS_EXTENSION_\w+|SECRETS_MANAGER_\w+|SSM_PARAMETER_STORE_\w+)$/;
    const set = [byDefault, templateOf({ sendOnlyChanges: true, apiKeyAuth: true })].flatMap((template) =>
      Object.values(template.findResources("AWS::Lambda::Function")).flatMap((fn) =>
        Object.keys(fn.Properties.Environment?.Variables ?? {}),
      ),
    );
    expect(set).toEqual(expect.arrayContaining(["CHANGES_TABLE_NAME", "WORKFLOW_STATE_MACHINE_ARN", "KUSTOMER_SECRET_ID"]));
    expect(set.filter((name) => !ours.has(name) && !theirs.test(name))).toEqual([]);
  });

  it("runs Node.js 22 on arm64 with tracing, sized for chunked submits, concurrency within the rate limit", () => {
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "handler.handler",
      MemorySize: 512,
      Timeout: 300,
      TracingConfig: { Mode: "Active" },
      ReservedConcurrentExecutions: 2,
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: {
          KUSTOMER_SECRET_ID: Match.anyValue(),
          KUSTOMER_BASE_URL: "https://api.kustomerapp.com",
          MAX_ITEMS: "10000",
          KUSTOMER_CONCURRENCY: "4",
          KUSTOMER_RATE_LIMIT_HEADROOM: "0.2",
          NODE_OPTIONS: Match.absent(),
          DEAD_LETTER_QUEUE_URL: Match.absent(),
          WORKFLOW_STATE_MACHINE_ARN: Match.absent(),
          POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
        },
      },
    });
    // The burst queue's consumer, with an entry of its own: 2 slots of its own, which no caller can take.
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "queue-handler.handler",
      ReservedConcurrentExecutions: 2,
      Environment: {
        Variables: Match.objectLike({
          WORKFLOW_STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp("^WorkflowStateMachine") },
          DEAD_LETTER_QUEUE_URL: { Ref: queueId("FailedDeliveriesQueue") },
        }),
      },
    });
    // The workflow's own function and entry: 2 invocations of 4 streams spend the 800 a minute that are ours.
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "workflow-handler.handler",
      ReservedConcurrentExecutions: 2,
      Environment: {
        Variables: Match.objectLike({ RESULTS_BUCKET_NAME: { Ref: Match.stringLikeRegexp("^JobBucket") }, KUSTOMER_CONCURRENCY: "4" }),
      },
    });
    // The job's own function: 3 children of 300 a minute spend the same share, and 2 slots for its other steps.
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "job-handler.handler",
      ReservedConcurrentExecutions: 5,
      MemorySize: 1024,
      Timeout: 900,
    });
    // Our share of 6,000 a minute is 4,800: 4 synchronous invocations of 4 streams (the queue's
    // consumer keeps its 2); the workflow gets 4 of its own, the job 16 children and 2.
    const larger = templateOf({ kustomerRateLimitPerMinute: "6000" });
    for (const entry of ["handler", "workflow-handler"]) {
      larger.hasResourceProperties("AWS::Lambda::Function", { Handler: `${entry}.handler`, ReservedConcurrentExecutions: 4 });
    }
    larger.hasResourceProperties("AWS::Lambda::Function", {
      ReservedConcurrentExecutions: 2,
      Environment: { Variables: Match.objectLike({ WORKFLOW_STATE_MACHINE_ARN: Match.anyValue() }) },
    });
    larger.hasResourceProperties("AWS::Lambda::Function", {
      ReservedConcurrentExecutions: 4,
      Environment: { Variables: Match.objectLike({ RESULTS_BUCKET_NAME: Match.anyValue() }) },
    });
    larger.hasResourceProperties("AWS::Lambda::Function", { Handler: "job-handler.handler", ReservedConcurrentExecutions: 18 });
    templateOf({ kustomerRateLimitPerMinute: "6000", kustomerConcurrency: "1", kustomerRateLimitHeadroom: "0.5" }).hasResourceProperties(
      "AWS::Lambda::Function",
      {
        ReservedConcurrentExecutions: 10,
        Environment: { Variables: Match.objectLike({ KUSTOMER_CONCURRENCY: "1", KUSTOMER_RATE_LIMIT_HEADROOM: "0.5" }) },
      },
    );
  });

  it("reads the key through the Parameters and Secrets extension, every function, cached no longer than the function does", () => {
    const functions = Object.values(
      byDefault.findResources("AWS::Lambda::Function", {
        Properties: { Handler: Match.stringLikeRegexp("^(handler|workflow-handler|queue-handler|job-handler)\\.handler$") },
      }),
    );
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(fn.Properties.Layers).toEqual([
        { "Fn::FindInMap": [expect.stringMatching(/^Paramsandsecrets/), { Ref: "AWS::Region" }, "1x0x103xarm64"] },
      ]);
      expect(fn.Properties.Environment.Variables).toMatchObject({
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773",
        SECRETS_MANAGER_TTL: "300",
      });
      // Source maps read at every load cost a request's cold start; the job's traces reach Step Functions.
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe(
        fn.Properties.Handler === "job-handler.handler" ? "--enable-source-maps" : undefined,
      );
    }
  });

  it("pins the newest Parameters and Secrets extension the pinned aws-cdk-lib knows", () => {
    const newest = Object.values(ParamsAndSecretsVersions)
      .map((version) => ({ version, parts: version.split(".").map(Number) }))
      .sort((a, b) => a.parts.reduce((order, part, i) => order || part - (b.parts[i] ?? 0), 0))
      .at(-1)?.version;
    expect(SECRETS_EXTENSION_VERSION).toBe(newest);
  });

  it("keeps one idempotency record per key in an on-demand, encrypted, recoverable table only the submitting functions use", () => {
    const table = onlyResource(byDefault, "AWS::DynamoDB::Table", "IdempotencyTable");
    expect(table.properties).toMatchObject({
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: { "Fn::GetAtt": [dataKeyId(), "Arn"] } },
    });
    const users = Object.entries(byDefault.findResources("AWS::IAM::Policy"))
      .filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes(`"${table.logicalId}"`))
      .map(([id, policy]) => [
        id.replace(/[0-9A-F]{8}$/, ""),
        policy.Properties.PolicyDocument.Statement.filter((statement: any) => JSON.stringify(statement.Resource).includes(table.logicalId))
          .flatMap((statement: any) => [statement.Action].flat())
          .sort(),
      ]);
    // The service function alone also records and reads bulk ids, in batches.
    expect(users.sort()).toEqual([
      [
        "BulkUpdateFunctionRoleDefaultPolicy",
        [
          "dynamodb:BatchGetItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
        ],
      ],
      ["WorkflowFunctionRoleDefaultPolicy", ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]],
    ]);
    for (const handler of ["BulkUpdateFunction", "WorkflowFunction"]) {
      expect(onlyResource(byDefault, "AWS::Lambda::Function", handler).properties.Environment.Variables.IDEMPOTENCY_TABLE_NAME).toEqual({
        Ref: table.logicalId,
      });
    }
  });

  it("makes the changes table only when asked: on demand, under the data key, recoverable, expiring after changesTtlDays", () => {
    expect(Object.keys(byDefault.findResources("AWS::DynamoDB::Table")).filter((id) => id.startsWith("ChangesTable"))).toEqual([]);
    for (const handler of ["BulkUpdateFunction", "WorkflowFunction", "JobFunction"])
      expect(Object.keys(onlyResource(byDefault, "AWS::Lambda::Function", handler).properties.Environment.Variables)).not.toContain(
        "CHANGES_TABLE_NAME",
      );

    const template = templateOf({ sendOnlyChanges: "true", changesTtlDays: "14" });
    const table = onlyResource(template, "AWS::DynamoDB::Table", "ChangesTable");
    expect(table.properties).toMatchObject({
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: { "Fn::GetAtt": [dataKeyId(template), "Arn"] } },
    });
    for (const handler of ["BulkUpdateFunction", "WorkflowFunction", "JobFunction"])
      expect(onlyResource(template, "AWS::Lambda::Function", handler).properties.Environment.Variables).toMatchObject({
        CHANGES_TABLE_NAME: { Ref: table.logicalId },
        CHANGES_TTL_DAYS: "14",
      });
    expect(onlyResource(template, "AWS::Lambda::Function", "QueueConsumerFunction").properties.Environment.Variables).not.toHaveProperty(
      "CHANGES_TABLE_NAME",
    );
  });

  it("never carries the key in its environment", () => {
    const { properties } = onlyResource(byDefault, "AWS::Lambda::Function", "BulkUpdateFunction");
    expect(Object.keys(properties.Environment.Variables)).not.toContain("KUSTOMER_API_KEY");
  });

  it("writes to its own log group with retention", () => {
    const { properties } = onlyResource(byDefault, "AWS::Lambda::Function", "BulkUpdateFunction");
    const logGroupId = properties.LoggingConfig.LogGroup.Ref;
    expect(byDefault.toJSON().Resources[logGroupId]).toMatchObject({ Type: "AWS::Logs::LogGroup", Properties: { RetentionInDays: 90 } });
  });
});

describe("what an update must not replace", () => {
  // Deployed stacks hold these under these logical ids: a new id replaces the resource, and with it
  // the key an operator put in the secret, the API's URL, or the table's records.
  it.each([
    ["AWS::SecretsManager::Secret", "KustomerApiKey1B69D97F"],
    ["AWS::ApiGateway::RestApi", "ApiF70053CD"],
    ["AWS::S3::Bucket", "JobBucket9833D82B"],
    ["AWS::DynamoDB::Table", "IdempotencyTable22A5A209"],
    ["AWS::KMS::Key", "DataKey5F086070"],
  ])("keeps its %s as %s", (type, logicalId) => {
    expect(Object.keys(byDefault.findResources(type))).toContain(logicalId);
  });
});

describe("the secret", () => {
  it("is created empty of any real key when none is given, and only GetSecretValue on it is granted", () => {
    const secret = onlyResource(byDefault, "AWS::SecretsManager::Secret");
    const secretStatements = functionStatements(byDefault).filter((statement) => JSON.stringify(statement).includes("secretsmanager"));
    expect(secretStatements).toEqual([{ Action: "secretsmanager:GetSecretValue", Effect: "Allow", Resource: { Ref: secret.logicalId } }]);
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { KUSTOMER_SECRET_ID: { Ref: secret.logicalId } } },
    });
  });

  it("is imported by name, with the grant scoped to that name", () => {
    const template = templateOf({ kustomerSecretName: "prod/kustomer" });
    expect(template.findResources("AWS::SecretsManager::Secret")).toEqual({});
    const statements = functionStatements(template).filter((statement) => JSON.stringify(statement).includes("secretsmanager"));
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe("secretsmanager:GetSecretValue");
    expect(JSON.stringify(statements[0]?.Resource)).toContain(":secret:prod/kustomer-??????");
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: { KUSTOMER_SECRET_ID: "prod/kustomer" } } });
  });

  it("is imported by ARN, with kms:Decrypt through Secrets Manager only when a key is given", () => {
    const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/kustomer-AbCdEf";
    const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const template = templateOf({ kustomerSecretArn: secretArn, kustomerKmsKeyArn: keyArn });
    const statements = functionStatements(template);
    expect(statements).toContainEqual({ Action: "secretsmanager:GetSecretValue", Effect: "Allow", Resource: secretArn });
    expect(statements).toContainEqual({
      Action: "kms:Decrypt",
      Effect: "Allow",
      Resource: keyArn,
      Condition: {
        StringEquals: { "kms:ViaService": { "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } },
      },
    });
    // Without a key of its own, the secret is under the stack's data key, whose policy names the function.
    expect(JSON.stringify(functionStatements(byDefault).filter((statement) => JSON.stringify(statement).includes("kms:ViaService")))).toBe(
      "[]",
    );
  });
});

describe("the HTTP API", () => {
  it("has PUT /customers/bulk and GET /bulk/{bulkId}, IAM-authorised, parameters checked, bodies left to the function, and no CORS by default", () => {
    const methods = Object.values(byDefault.findResources("AWS::ApiGateway::Method")).map((method: any) => method.Properties);
    expect(methods.map((method) => method.HttpMethod).sort()).toEqual(["GET", "PUT"]);
    for (const method of methods) {
      expect(method.AuthorizationType).toBe("AWS_IAM");
      expect(method.RequestValidatorId).toBeDefined();
      expect(method.RequestModels).toBeUndefined();
      expect(method.Integration).toMatchObject({ Type: "AWS_PROXY", IntegrationHttpMethod: "POST" });
    }
    // The gateway never refuses a body: the function answers with its paths, 413 and 415.
    byDefault.resourceCountIs("AWS::ApiGateway::Model", 0);
    byDefault.hasResourceProperties("AWS::ApiGateway::RequestValidator", {
      ValidateRequestBody: Match.absent(),
      ValidateRequestParameters: true,
    });
    // The gateway's own refusals (auth, throttling) take the function's error shape.
    const responses = Object.values(byDefault.findResources("AWS::ApiGateway::GatewayResponse")).map(
      (response: any) => response.Properties,
    );
    expect(responses.map((response) => response.ResponseType).sort()).toEqual(["DEFAULT_4XX", "DEFAULT_5XX"]);
    for (const response of responses) expect(response.ResponseTemplates["application/json"]).toMatch(/^\{"error":\{"name":/);
  });

  it("throttles to the Kustomer rate limit, logs access without bodies, and traces", () => {
    byDefault.hasResourceProperties("AWS::ApiGateway::Stage", {
      StageName: "v1",
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp("requestId") },
      MethodSettings: [
        Match.objectLike({ DataTraceEnabled: false, LoggingLevel: "ERROR", ThrottlingRateLimit: 16, ThrottlingBurstLimit: 32 }),
      ],
    });
  });

  it("offers API keys with a usage plan for callers outside AWS", () => {
    const template = templateOf({ apiKeyAuth: "true" });
    for (const method of Object.values(template.findResources("AWS::ApiGateway::Method")) as any[]) {
      expect(method.Properties).toMatchObject({ AuthorizationType: "NONE", ApiKeyRequired: true });
    }
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 1);
    expect(Object.keys(template.findOutputs("ApiKeyId"))).toEqual(["ApiKeyId"]);
    // A day of the stage's rate at most: 16 a second.
    template.hasResourceProperties("AWS::ApiGateway::UsagePlan", {
      Throttle: { RateLimit: 16, BurstLimit: 32 },
      Quota: { Limit: 16 * 86_400, Period: "DAY" },
    });
  });

  it("gives each named caller its own key and usage plan, so a leaked key is one caller's to revoke", () => {
    const template = templateOf({ apiKeyAuth: "true", apiKeyCallers: "partner-a,partner-b" });
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 2);
    template.resourceCountIs("AWS::ApiGateway::UsagePlan", 2);
    template.resourceCountIs("AWS::ApiGateway::UsagePlanKey", 2);
    expect(
      Object.keys(template.findOutputs("*"))
        .filter((id) => id.startsWith("ApiKeyId"))
        .sort(),
    ).toEqual(["ApiKeyIdPartnerA", "ApiKeyIdPartnerB"]);
  });

  it.each(["*", "http://ops.example.com"])("refuses the CORS origin %s with API keys: a page that sends the key publishes it", (origin) => {
    expect(() => templateOf({ apiKeyAuth: "true", corsAllowOrigins: origin })).toThrow(
      /with apiKeyAuth, corsAllowOrigins must name https origins/,
    );
  });

  it("refuses callerRoleArns with CORS origins: a preflight is unsigned, and the callers' Deny would refuse it", () => {
    expect(() =>
      templateOf({ callerRoleArns: "arn:aws:iam::123456789012:role/crm-sync", corsAllowOrigins: "https://ops.example.com" }),
    ).toThrow(/callerRoleArns and corsAllowOrigins cannot go together/);
  });

  it("refuses callerRoleArns with API keys: those callers have no IAM principal", () => {
    expect(() => templateOf({ apiKeyAuth: "true", callerRoleArns: "arn:aws:iam::123456789012:role/crm-sync" })).toThrow(
      /callerRoleArns names IAM callers/,
    );
  });

  it("denies every principal but callerRoleArns in the API's resource policy, when they are given", () => {
    expect(onlyResource(byDefault, "AWS::ApiGateway::RestApi").properties.Policy).toBeUndefined();
    const template = templateOf({ callerRoleArns: "arn:aws:iam::123456789012:role/crm-sync" });
    expect(onlyResource(template, "AWS::ApiGateway::RestApi").properties.Policy.Statement).toEqual([
      {
        Sid: "OnlyTheListedCallers",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "execute-api:Invoke",
        Resource: "execute-api:/*",
        Condition: { ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::123456789012:role/crm-sync"] } },
      },
    ]);
  });

  it("answers CORS preflight only when origins are given, letting browsers send Idempotency-Key", () => {
    expect(JSON.stringify(byDefault.findResources("AWS::ApiGateway::Method"))).not.toContain("OPTIONS");
    const template = templateOf({ corsAllowOrigins: "https://ops.example.com" });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "OPTIONS",
      Integration: {
        IntegrationResponses: [
          Match.objectLike({
            ResponseParameters: Match.objectLike({
              "method.response.header.Access-Control-Allow-Headers": Match.stringLikeRegexp("Idempotency-Key"),
            }),
          }),
        ],
      },
    });
  });
});

describe("events", () => {
  it("route 'Customer Bulk Update Requested' on a custom bus into the burst queue, with retries and a DLQ", () => {
    const bus = onlyResource(byDefault, "AWS::Events::EventBus");
    byDefault.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: bus.logicalId },
      EventPattern: { "detail-type": ["Customer Bulk Update Requested"] },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [queueId("BurstQueue"), "Arn"] },
          // The whole event: its id names the workflow run.
          InputPath: Match.absent(),
          InputTransformer: Match.absent(),
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId("FailedDeliveriesQueue"), "Arn"] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it("feed the function from the burst queue with partial batch responses, no faster than the rate limit allows", () => {
    byDefault.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: 1800,
      KmsMasterKeyId: { "Fn::GetAtt": [dataKeyId(), "Arn"] },
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [queueId("DeadLetterQueue"), "Arn"] }, maxReceiveCount: 5 },
    });
    byDefault.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [queueId("BurstQueue"), "Arn"] },
      BatchSize: 5,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // Starting workflow runs is quick: two invocations keep up whatever the budget.
    templateOf({ kustomerRateLimitPerMinute: "6000" }).hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const sends = functionStatements(byDefault).filter((statement) => JSON.stringify(statement.Action).includes("sqs:SendMessage"));
    expect(sends.map((statement) => statement.Resource)).toContainEqual({ "Fn::GetAtt": [queueId("FailedDeliveriesQueue"), "Arn"] });
  });

  it("can use the default bus instead", () => {
    const template = templateOf({ eventBusName: "default" });
    template.resourceCountIs("AWS::Events::EventBus", 0);
    template.hasResourceProperties("AWS::Events::Rule", { EventBusName: "default" });
  });

  it("keep failed asynchronous invocations in the encrypted, TLS-only failed-deliveries queue, apart from the commands to redrive", () => {
    const dlq = queueId("FailedDeliveriesQueue");
    for (const queue of [dlq, queueId("DeadLetterQueue")]) {
      expect(byDefault.toJSON().Resources[queue].Properties).toMatchObject({
        KmsMasterKeyId: { "Fn::GetAtt": [dataKeyId(), "Arn"] },
        MessageRetentionPeriod: 1209600,
      });
    }
    byDefault.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [dlq, "Arn"] } } },
    });
    byDefault.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({ Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage" }),
        ]),
      },
    });
  });
});

describe("the workflow", () => {
  const definition = definitionOf(byDefault);

  it("leaves the command in the execution input, keeps only the bulk ids and counts, and bounds the status loop", () => {
    expect(definition.StartAt).toBe("HasCorrelationId?");
    const clientContext = Buffer.from(JSON.stringify({ custom: { caller: "kustomer-bulk-update-workflow" } })).toString("base64");
    expect(definition.States.Submit).toMatchObject({
      Type: "Task",
      Resource: "arn:REF:states:::lambda:invoke",
      // Read from the execution input, every time: no state carries the command.
      Parameters: { FunctionName: "REF", "Payload.$": "$$.Execution.Input", ClientContext: clientContext },
      ResultSelector: { "answer.$": "$.Payload" },
      ResultPath: "$.submitted",
    });
    // The submit's own summary (items, bulk ids, customers in doubt) joins the correlation id; the follow-up's account stays beside it.
    expect(definition.States.StartPolling.Parameters).toEqual({
      "summary.$": "States.JsonMerge($.summary, $.submitted.answer.summary, false)",
      "follow.$": "$.submitted.answer.follow",
      seen: [],
      polls: 0,
    });
    // The status check reads the command from the execution input too, with each request's bulk id.
    const outcomeContext = Buffer.from(JSON.stringify({ custom: { caller: "kustomer-bulk-update-workflow", task: "outcome" } })).toString(
      "base64",
    );
    expect(definition.States.CheckStatus.Parameters).toMatchObject({
      Payload: {
        action: "outcome",
        "command.$": "$$.Execution.Input",
        "requests.$": "$.follow.requests",
        "submittedAt.$": "$.follow.submittedAt",
        "seen.$": "$.seen",
      },
      ClientContext: outcomeContext,
    });
    // A resubmission names itself in its client context, and carries what earlier attempts settled.
    const resubmitContext = Buffer.from(JSON.stringify({ custom: { caller: "kustomer-bulk-update-workflow", task: "resubmit" } })).toString(
      "base64",
    );
    expect(definition.States.Resubmit.Parameters).toMatchObject({
      Payload: { "command.$": "$$.Execution.Input", "attempt.$": "$.attempts", "settled.$": "$.settled" },
      ClientContext: resubmitContext,
    });
    expect(definition.States.CountAttempt.Parameters).toMatchObject({ "settled.$": "$.submitted.answer.settled" });
    expect(definition.States.WaitForKustomer).toMatchObject({ Type: "Wait", Seconds: 30, Next: "CheckStatus" });
    // 360 minutes at 30 s: 720 checks, counted from 0.
    expect(definition.States["Applied?"].Choices[2]).toEqual({
      Variable: "$.polls",
      NumericGreaterThanEquals: 719,
      Next: "DescribeIncomplete",
    });
    expect(definition.States.DescribeIncomplete.Parameters.detail.error.name).toBe("KustomerBulkIncompleteError");
  });

  it.each([
    ["AnnounceCompleted", "Customer Bulk Update Completed"],
    ["AnnounceFailed", "Customer Bulk Update Failed"],
  ])("announces the outcome itself on the stack's bus: %s puts %s", (state, detailType) => {
    expect(definition.States[state]).toMatchObject({
      Type: "Task",
      Resource: "arn:REF:states:::events:putEvents",
      Parameters: { Entries: [{ "Detail.$": "$.detail", DetailType: detailType, Source: "kustomer-bulk-update", EventBusName: "REF" }] },
      ResultPath: null,
    });
  });

  it("ends in success after Completed, in failure after Failed, and may put events on its bus", () => {
    const bus = onlyResource(byDefault, "AWS::Events::EventBus");
    expect(definition.States.BulkUpdateCompleted).toEqual({ Type: "Succeed", OutputPath: "$.detail" });
    expect(definition.States.BulkUpdateFailed).toEqual({
      Type: "Fail",
      ErrorPath: "$.detail.error.name",
      CausePath: "$.detail.error.message",
    });
    const { properties } = onlyResource(byDefault, "AWS::IAM::Policy", "WorkflowStateMachineRoleDefaultPolicy");
    expect(properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Action: "events:PutEvents", Resource: { "Fn::GetAtt": [bus.logicalId, "Arn"] } }),
    );
  });

  it.each(["Submit", "CheckStatus"])(
    "%s waits out a throttled function, retries the retryable names and Lambda's transient faults, and catches the rest",
    (task) => {
      expect(definition.States[task].Retry).toEqual([
        {
          ErrorEquals: ["Lambda.TooManyRequestsException"],
          IntervalSeconds: 5,
          MaxAttempts: 40,
          BackoffRate: 2,
          MaxDelaySeconds: 300,
          JitterStrategy: "FULL",
        },
        { ErrorEquals: RETRYABLE_ERRORS, IntervalSeconds: 5, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: "FULL" },
      ]);
      // Caught beside the small state, so the Failed event still carries the correlation id.
      expect(definition.States[task].Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: `${task}Unanswered` }]);
    },
  );

  it("retries the contract's retryable names and Lambda's transient faults", () => {
    expect(RETRYABLE_ERRORS).toEqual(
      expect.arrayContaining([
        "KustomerRateLimitError",
        "KustomerUnavailableError",
        "Lambda.ServiceException",
        "Lambda.ClientExecutionTimeoutException",
      ]),
    );
  });

  it("refuses a status timeout that would run past Step Functions' history limit", () => {
    expect(() => synthApp({ statusPollSeconds: "5", statusTimeoutMinutes: "600" })).toThrow(
      /statusTimeoutMinutes.*at most 2000 status checks/,
    );
    expect(
      definitionOf(templateOf({ statusPollSeconds: "60", statusTimeoutMinutes: "60" })).States["Applied?"].Choices[2]
        .NumericGreaterThanEquals,
    ).toBe(59);
  });

  it("logs every state without execution data, and traces", () => {
    byDefault.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe("large jobs", () => {
  const jobDefinition = (() => {
    const { properties } = onlyResource(byDefault, "AWS::StepFunctions::StateMachine", "JobStateMachine");
    const parts = properties.DefinitionString["Fn::Join"][1] as unknown[];
    return JSON.parse(parts.map((part) => (typeof part === "string" ? part : "REF")).join(""));
  })();

  it("keep job files in an encrypted, TLS-only, private, access-logged bucket that tells EventBridge of new files", () => {
    const bucket = onlyResource(byDefault, "AWS::S3::Bucket", "JobBucket");
    expect(bucket.properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: { "Fn::GetAtt": [dataKeyId(), "Arn"] } },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: expect.stringMatching(/^JobAccessLogs/) }, LogFilePrefix: "job-bucket/" },
      LifecycleConfiguration: {
        Rules: [{ ExpirationInDays: 90, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" }],
      },
    });
    byDefault.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucket.logicalId },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      },
    });
    byDefault.hasResourceProperties("Custom::S3BucketNotifications", { NotificationConfiguration: { EventBridgeConfiguration: {} } });
  });

  // What the job does is proven by running this definition whole (test/job-machine.test.ts); here, what
  // a template alone can show: no state reads a field a path into it may lack, and the settings it takes.
  it("reads no field a path into its state may lack: CDK drops nulls from Parameters at synth, and AWS fails such a read", () => {
    expect(unwrittenReads(jobDefinition, ["key"])).toEqual([]);
    // The check sees the defect that failed every job: a Start whose mapFailed was dropped.
    const dropped = structuredClone(jobDefinition);
    delete dropped.States.Start.Parameters.mapFailed;
    expect(unwrittenReads(dropped, ["key"])).toEqual(expect.arrayContaining(["Collect reads $.mapFailed", "MapFailed? reads $.mapFailed"]));
  });

  it("send at most the planned concurrency, tolerate the configured failures, and retry every function task the same way", () => {
    const map = jobDefinition.States.UpdateCustomers;
    expect(map).toMatchObject({
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED" } },
      MaxConcurrency: 3,
      ToleratedFailurePercentage: 10,
    });
    // Every task that invokes a function: the throttle retry first, then the retryable names.
    for (const task of [
      map.ItemProcessor.States.SubmitLines,
      jobDefinition.States.Plan,
      jobDefinition.States.Collect,
      jobDefinition.States.Follow,
      jobDefinition.States.Report,
    ]) {
      expect(task.Retry.map((retry: { ErrorEquals: string[] }) => retry.ErrorEquals)).toEqual([
        ["Lambda.TooManyRequestsException"],
        RETRYABLE_ERRORS,
      ]);
    }
    const tuned = templateOf({ kustomerRateLimitPerMinute: "6000", jobToleratedFailurePercent: "25" });
    const parts = onlyResource(tuned, "AWS::StepFunctions::StateMachine", "JobStateMachine").properties.DefinitionString[
      "Fn::Join"
    ][1] as unknown[];
    expect(JSON.parse(parts.map((part) => (typeof part === "string" ? part : "REF")).join("")).States.UpdateCustomers).toMatchObject({
      MaxConcurrency: 16,
      ToleratedFailurePercentage: 25,
    });
  });

  it("let the job function read job files, and read, write and list each run's results only", () => {
    const job = onlyResource(byDefault, "AWS::Lambda::Function", "JobFunction");
    expect(job.properties).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 900, MemorySize: 1024 });
    const roleId = job.properties.Role["Fn::GetAtt"][0];
    const statements = Object.values(byDefault.findResources("AWS::IAM::Policy"))
      .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => JSON.stringify(statement.Action).includes("s3:"));
    const summary = statements.map((statement: any) => [
      statement.Action,
      JSON.stringify(statement.Resource).match(/\/(jobs|results)\/\*|"Arn"\]\}$/)?.[0],
      statement.Condition,
    ]);
    expect(summary).toEqual([
      ["s3:GetObject", "/jobs/*", undefined],
      [["s3:GetObject", "s3:PutObject"], "/results/*", undefined],
      ["s3:ListBucket", expect.any(String), { StringLike: { "s3:prefix": ["results/*"] } }],
    ]);
  });
});

describe("monitoring and outputs", () => {
  it("alarms on function errors, throttles, dead letters, failed workflows and failed jobs, to an encrypted topic", () => {
    const topic = onlyResource(byDefault, "AWS::SNS::Topic");
    expect(topic.properties.KmsMasterKeyId).toBeDefined();
    const alarms = Object.values(byDefault.findResources("AWS::CloudWatch::Alarm")).map((alarm: any) => alarm.Properties);
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual([
      "5XXError",
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "Errors",
      "Errors",
      "Errors",
      "Errors",
      "ExecutionsFailed",
      "ExecutionsFailed",
      "Failures",
      "Failures",
      "Throttles",
      "Throttles",
    ]);
    // Each function's errors; throttles of the synchronous and job functions, not of the workflow's,
    // whose throttles are the burst buffer at work (Step Functions waits them out).
    const alarmedFunctions = (metricName: string) =>
      alarms.filter((alarm) => alarm.MetricName === metricName).map((alarm) => alarm.Dimensions[0].Value.Ref.replace(/[0-9A-F]{8}$/, ""));
    expect(alarmedFunctions("Errors").sort()).toEqual(["BulkUpdateFunction", "JobFunction", "QueueConsumerFunction", "WorkflowFunction"]);
    // A command waiting over 15 minutes in the burst queue: its consumer cannot start runs.
    expect(alarms.find((alarm) => alarm.MetricName === "ApproximateAgeOfOldestMessage")).toMatchObject({
      Threshold: 900,
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId("BurstQueue"), "QueueName"] } }],
    });
    expect(alarmedFunctions("Throttles").sort()).toEqual(["BulkUpdateFunction", "JobFunction"]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topic.logicalId }]);
    byDefault.resourceCountIs("AWS::SNS::Subscription", 0);
    templateOf({ alarmEmail: "ops@example.com" }).hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
  });

  it("has a dashboard of the function's metrics", () => {
    const dashboard = onlyResource(byDefault, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboard.properties.DashboardBody);
    for (const metric of ["ItemsSubmitted", "BulkRequests", "Retries", "RateLimited", "Failures", "RateLimitRemaining", "HeadroomWaitMs"])
      expect(body).toContain(metric);
  });

  it("outputs the API URL, bus name, state machines, secret name, queue URLs and job bucket", () => {
    expect(Object.keys(byDefault.findOutputs("*")).sort()).toEqual([
      "AlarmTopicArn",
      "ApiUrl",
      "BurstQueueUrl",
      "DashboardName",
      "DeadLetterQueueUrl",
      "EventBusName",
      "FailedDeliveriesQueueUrl",
      "FunctionLogGroupName",
      "JobBucketName",
      "JobStateMachineArn",
      "SecretName",
      "StateMachineArn",
    ]);
  });
});

describe("settings", () => {
  it("refuse a context key that looks like a setting but is not, naming the setting meant; other keys pass", () => {
    expect(() => synthApp({ kustomerRateLimit: "600" })).toThrow(
      /unknown setting kustomerRateLimit \(did you mean kustomerRateLimitPerMinute or kustomerRateLimitHeadroom\?\); the service's settings are kustomerSecretName, /,
    );
    expect(() => synthApp({ ProducerRoleArns: "arn:aws:iam::123456789012:role/x" })).toThrow(
      /unknown setting ProducerRoleArns \(did you mean producerRoleArns\?\)/,
    );
    expect(() => synthApp({ alarmEmial: "ops@example.com" })).toThrow(/did you mean alarmEmail\?/);
    expect(() => synthApp({ myTeamTag: "payments", "@aws-cdk/core:newStyleStackSynthesis": true })).not.toThrow();
  });

  it("refuse bad context values by name", () => {
    expect(() => synthApp({ kustomerRateLimitPerMinute: "lots" })).toThrow(/kustomerRateLimitPerMinute/);
    expect(() => synthApp({ kustomerBaseUrl: "http://api.kustomerapp.com" })).toThrow(/kustomerBaseUrl/);
    expect(() => synthApp({ kustomerSecretName: "a", kustomerSecretArn: "arn:aws:secretsmanager:x" })).toThrow(/not both/);
  });
});

describe("security", () => {
  const producers = "arn:aws:iam::123456789012:role/crm-sync,arn:aws:iam::123456789012:role/billing-sync";
  const operator = "arn:aws:iam::123456789012:role/kustomer-bulk-update-operator";
  const configured = templateOf({ producerRoleArns: producers, operatorRoleArn: operator, eventSources: "crm.sync,billing.sync" });
  const resources = (template: Template, type: string) => Object.entries(template.findResources(type)) as Array<[string, any]>;
  const roleOf = (template: Template, functionPrefix: string) =>
    onlyResource(template, "AWS::Lambda::Function", functionPrefix).properties.Role["Fn::GetAtt"][0];
  const keyPolicy = (template: Template) =>
    template.toJSON().Resources[dataKeyId(template)].Properties.KeyPolicy.Statement as Array<Record<string, any>>;

  it("lets CloudWatch publish this account's alarms to the topic, and use its key for them alone", () => {
    const topic = onlyResource(byDefault, "AWS::SNS::Topic");
    const fromOurAlarms = {
      StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
      ArnLike: {
        "aws:SourceArn": {
          "Fn::Join": [
            "",
            ["arn:", { Ref: "AWS::Partition" }, ":cloudwatch:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":alarm:*"],
          ],
        },
      },
    };
    byDefault.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topic.logicalId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: { Ref: topic.logicalId },
            Condition: fromOurAlarms,
          }),
        ]),
      },
    });
    const topicKey = byDefault.toJSON().Resources[topic.properties.KmsMasterKeyId["Fn::GetAtt"][0]].Properties.KeyPolicy.Statement as Array<
      Record<string, any>
    >;
    const cloudWatchStatements = topicKey.filter((statement) => JSON.stringify(statement.Principal).includes("cloudwatch"));
    expect(cloudWatchStatements).toHaveLength(1);
    expect(cloudWatchStatements[0]?.Condition).toEqual(fromOurAlarms);
  });

  it("alarms on a refused Kustomer key, on a broken configuration, and on the API's 5xx answers", () => {
    const alarms = Object.values(byDefault.findResources("AWS::CloudWatch::Alarm")).map((alarm: any) => alarm.Properties);
    const byError = (name: string) =>
      alarms.find((alarm) => alarm.Dimensions?.some((dimension: any) => dimension.Name === "ErrorName" && dimension.Value === name));
    for (const name of ["KustomerAuthError", "ConfigurationError"]) {
      expect(byError(name)).toMatchObject({ Namespace: "KustomerBulkUpdate", MetricName: "Failures", Threshold: 1 });
    }
    expect(alarms.find((alarm) => alarm.MetricName === "5XXError")).toMatchObject({ Namespace: "AWS/ApiGateway", Statistic: "Sum" });
  });

  it("accepts request events from the listed sources only, by default one documented source", () => {
    byDefault.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["kustomer-bulk-update.client"], "detail-type": ["Customer Bulk Update Requested"] },
    });
    configured.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["crm.sync", "billing.sync"], "detail-type": ["Customer Bulk Update Requested"] },
    });
  });

  it("lets only the request rule, and the listed producer roles, send commands to the burst queue", () => {
    const denyOf = (template: Template) =>
      resources(template, "AWS::SQS::QueuePolicy")
        .filter(([, policy]) => JSON.stringify(policy.Properties.Queues).includes(queueId("BurstQueue", template)))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
        .find((statement: any) => statement.Effect === "Deny" && statement.Action === "sqs:SendMessage");
    const ruleArn = (template: Template) => ({
      "Fn::GetAtt": [onlyResource(template, "AWS::Events::Rule", "BulkUpdateRequested").logicalId, "Arn"],
    });
    expect(denyOf(byDefault)).toMatchObject({ Principal: "*", Condition: { ArnNotEquals: { "aws:SourceArn": ruleArn(byDefault) } } });
    // The operator too: its redrive of the dead-letter queue sends as the operator.
    expect(denyOf(configured).Condition).toEqual({
      ArnNotEquals: { "aws:SourceArn": ruleArn(configured), "aws:PrincipalArn": [...producers.split(","), operator] },
    });
  });

  it("lets only the listed producer roles put job files under jobs/ (nobody, until some are listed)", () => {
    const denyOf = (template: Template) =>
      resources(template, "AWS::S3::BucketPolicy")
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
        .find((statement: any) => statement.Effect === "Deny" && statement.Action === "s3:PutObject");
    expect(denyOf(byDefault)).toMatchObject({ Principal: "*", Resource: { "Fn::Join": ["", [expect.anything(), "/jobs/*"]] } });
    expect(denyOf(byDefault).Condition).toBeUndefined();
    expect(denyOf(configured).Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": producers.split(",") } });
  });

  it("keeps personal data under one customer-managed key: queues, job bucket, state machines, log groups and the secret", () => {
    const key = { "Fn::GetAtt": [dataKeyId(), "Arn"] };
    byDefault.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    for (const [, queue] of resources(byDefault, "AWS::SQS::Queue")) expect(queue.Properties.KmsMasterKeyId).toEqual(key);
    for (const [, machine] of resources(byDefault, "AWS::StepFunctions::StateMachine")) {
      expect(machine.Properties.EncryptionConfiguration).toMatchObject({ Type: "CUSTOMER_MANAGED_KMS_KEY", KmsKeyId: key });
    }
    const logGroups = resources(byDefault, "AWS::Logs::LogGroup");
    expect(logGroups.length).toBeGreaterThanOrEqual(6);
    for (const [, group] of logGroups) expect(group.Properties.KmsKeyId).toEqual(key);
    byDefault.hasResourceProperties("AWS::SecretsManager::Secret", { KmsKeyId: key });
  });

  it("lets no one use that key through IAM alone: its policy names each role that needs it", () => {
    const statements = keyPolicy(configured);
    const administer = statements.find((statement) => statement.Sid === "AdministerOnly");
    expect(administer?.Action).not.toEqual(expect.arrayContaining(["kms:Decrypt"]));
    expect(JSON.stringify(administer?.Action)).not.toMatch(/kms:\*|Decrypt|GenerateDataKey|Encrypt|CreateGrant/);
    const users = statements.filter((statement) => JSON.stringify(statement.Action).includes("kms:Decrypt"));
    const principals = users.map((statement) => statement.Principal);
    const roleArn = (logicalId: string) => ({ AWS: { "Fn::GetAtt": [logicalId, "Arn"] } });
    expect(principals).toEqual(
      expect.arrayContaining([
        roleArn(roleOf(configured, "BulkUpdateFunction")),
        roleArn(roleOf(configured, "JobFunction")),
        roleArn(roleOf(configured, "WorkflowFunction")),
        roleArn(onlyResource(configured, "AWS::StepFunctions::StateMachine", "Workflow").properties.RoleArn["Fn::GetAtt"][0]),
        roleArn(onlyResource(configured, "AWS::StepFunctions::StateMachine", "JobStateMachine").properties.RoleArn["Fn::GetAtt"][0]),
        { AWS: operator },
        // Producers only through SQS and S3 (below).
        { AWS: producers.split(",").sort() },
      ]),
    );
    for (const statement of users.filter((user) => JSON.stringify(user.Principal).includes(producers.split(",")[0]!))) {
      expect(Object.keys(statement.Condition).sort()).toEqual(["ArnLike", "StringEquals"]);
      expect(JSON.stringify(statement.Condition.StringEquals["kms:ViaService"])).toMatch(/"(sqs|s3)\."/);
    }
    for (const statement of users) {
      const principal = JSON.stringify(statement.Principal);
      // The account itself only through Secrets Manager (CDK's statement for a secret under this key),
      // so the secret's own IAM permissions still decide who reads it.
      if (principal.includes(":root"))
        expect(statement.Condition).toEqual({
          StringEquals: { "kms:ViaService": { "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } },
        });
      // Service principals are tied to this account, but for CDK's log delivery of the state machines.
      else if (principal.includes("Service") && !principal.includes("delivery.logs")) expect(statement.Condition).toBeDefined();
    }
  });

  it("puts a WAF rate-based rule in front of the API when it takes API keys", () => {
    byDefault.resourceCountIs("AWS::WAFv2::WebACL", 0);
    const template = templateOf({ apiKeyAuth: "true" });
    const acl = onlyResource(template, "AWS::WAFv2::WebACL");
    // Per five minutes and address: a fifth of the stage's rate (16 a second for 1,000 a minute), and AWS's lists of bad inputs and addresses.
    expect(acl.properties).toMatchObject({
      Scope: "REGIONAL",
      Rules: [
        expect.objectContaining({ Action: { Block: {} }, Statement: { RateBasedStatement: { AggregateKeyType: "IP", Limit: 960 } } }),
        expect.objectContaining({
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { VendorName: "AWS", Name: "AWSManagedRulesKnownBadInputsRuleSet" } },
        }),
        expect.objectContaining({
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { VendorName: "AWS", Name: "AWSManagedRulesAmazonIpReputationList" } },
        }),
      ],
    });
    template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", {
      WebACLArn: { "Fn::GetAtt": [acl.logicalId, "Arn"] },
      ResourceArn: Match.anyValue(),
    });
  });

  it("gives the job state machine GetObject and PutObject on results/ only: the job function reads the job files", () => {
    const machine = onlyResource(byDefault, "AWS::StepFunctions::StateMachine", "JobStateMachine");
    const roleId = machine.properties.RoleArn["Fn::GetAtt"][0];
    const s3 = resources(byDefault, "AWS::IAM::Policy")
      .filter(([, policy]) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => JSON.stringify(statement.Action).includes("s3:"));
    const byAction = Object.fromEntries(
      s3.flatMap((statement: any) => [statement.Action].flat().map((action: string) => [action, JSON.stringify(statement.Resource)])),
    );
    expect(Object.keys(byAction).sort()).toEqual([
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]);
    expect(byAction["s3:GetObject"]).toContain("/results/*");
    expect(byAction["s3:PutObject"]).toContain("/results/*");
    expect(JSON.stringify(s3)).not.toMatch(/"\/\*"/);
  });

  it("lets EventBridge start a job only for this account's job rule, and keeps a job whose start keeps failing", () => {
    const rule = onlyResource(byDefault, "AWS::Events::Rule", "JobJobFileArrived");
    const [target] = rule.properties.Targets;
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId("FailedDeliveriesQueue"), "Arn"] } },
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
    });
    const role = byDefault.toJSON().Resources[target.RoleArn["Fn::GetAtt"][0]];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
          ArnEquals: { "aws:SourceArn": { "Fn::Join": ["", expect.arrayContaining([":rule/KustomerBulkUpdate-job-file-arrived"])] } },
        },
      },
    ]);
    expect(rule.properties.Name).toBe("KustomerBulkUpdate-job-file-arrived");
  });

  it("allows no console test invocation past the API's authorization", () => {
    const permissions = Object.values(byDefault.findResources("AWS::Lambda::Permission")).map((permission: any) =>
      JSON.stringify(permission.Properties.SourceArn),
    );
    expect(permissions.filter((arn) => arn.includes("apigateway") || arn.includes("execute-api")).length).toBeGreaterThan(0);
    expect(permissions.filter((arn) => arn.includes("test-invoke-stage"))).toEqual([]);
  });

  it("enforces bucket ownership on the access-log bucket", () => {
    onlyResource(byDefault, "AWS::S3::Bucket", "JobAccessLogs");
    byDefault.hasResourceProperties("AWS::S3::Bucket", { OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] } });
  });

  it("runs CDK's bucket-notifications handler with a role of ours: that bucket's notifications only, no managed policy, no logs", () => {
    const { logicalId: roleId, properties: role } = onlyResource(byDefault, "AWS::IAM::Role", "JobNotificationsHandlerRole");
    const handlers = Object.values(
      byDefault.findResources("AWS::Lambda::Function", { Properties: { Role: { "Fn::GetAtt": [roleId, "Arn"] } } }),
    );
    expect(handlers).toHaveLength(1);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toEqual([
      {
        PolicyName: "BucketNotifications",
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Action: "s3:PutBucketNotification",
              Effect: "Allow",
              Resource: { "Fn::GetAtt": [onlyResource(byDefault, "AWS::S3::Bucket", "JobBucket").logicalId, "Arn"] },
            },
          ],
        },
      },
    ]);
    // Nothing else grants it anything: no policy of CDK's own names the role.
    const policies = Object.values(byDefault.findResources("AWS::IAM::Policy")).filter((policy: any) =>
      JSON.stringify(policy.Properties.Roles ?? []).includes(roleId),
    );
    expect(policies).toEqual([]);
  });

  it("refuses malformed security settings by name", () => {
    expect(() => synthApp({ producerRoleArns: "crm-sync" })).toThrow(/producerRoleArns/);
    expect(() => synthApp({ operatorRoleArn: "arn:aws:iam::123456789012:user/ops" })).toThrow(/operatorRoleArn/);
    expect(() => synthApp({ eventSources: " , " })).toThrow(/eventSources/);
    expect(() => synthApp({ corsAllowOrigins: "ops.example.com" })).toThrow(/corsAllowOrigins entries are origins/);
    expect(() => synthApp({ corsAllowOrigins: "https://ops.example.com/app" })).toThrow(/corsAllowOrigins entries are origins/);
    // An outcome event must never request another update.
    expect(() => synthApp({ eventSources: "crm.sync,kustomer-bulk-update" })).toThrow(
      /eventSources: must not include "kustomer-bulk-update"/,
    );
  });
});
