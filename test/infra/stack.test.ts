import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { RETRYABLE_ERRORS } from "../../infra/workflow.ts";
import { synthApp } from "../support/synth.ts";

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
  it("runs Node.js 22 on arm64 with tracing, sized for chunked submits, concurrency within the rate limit", () => {
    byDefault.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 512,
      Timeout: 300,
      TracingConfig: { Mode: "Active" },
      ReservedConcurrentExecutions: 7,
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: {
          KUSTOMER_SECRET_ID: Match.anyValue(),
          KUSTOMER_BASE_URL: "https://api.kustomerapp.com",
          MAX_ITEMS: "10000",
          KUSTOMER_CONCURRENCY: "4",
          KUSTOMER_RATE_LIMIT_HEADROOM: "0.2",
          NODE_OPTIONS: "--enable-source-maps",
          DEAD_LETTER_QUEUE_URL: { Ref: queueId("DeadLetterQueue") },
          POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
        },
      },
    });
    // Our share of 6,000 a minute is 4,800: 16 job children of 300 a minute, 4 queue invocations of
    // 4 streams each, and as many again for synchronous callers.
    templateOf({ kustomerRateLimitPerMinute: "6000" }).hasResourceProperties("AWS::Lambda::Function", { ReservedConcurrentExecutions: 24 });
    templateOf({ kustomerRateLimitPerMinute: "6000", kustomerConcurrency: "1", kustomerRateLimitHeadroom: "0.5" }).hasResourceProperties("AWS::Lambda::Function", {
      ReservedConcurrentExecutions: 30,
      Environment: { Variables: Match.objectLike({ KUSTOMER_CONCURRENCY: "1", KUSTOMER_RATE_LIMIT_HEADROOM: "0.5" }) },
    });
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
      Condition: { StringEquals: { "kms:ViaService": { "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } } },
    });
    expect(JSON.stringify(functionStatements(byDefault))).not.toContain("kms:");
  });
});

describe("the HTTP API", () => {
  it("has PUT /customers/bulk and GET /bulk/{bulkId}, IAM-authorised, validated, and no CORS by default", () => {
    const methods = Object.values(byDefault.findResources("AWS::ApiGateway::Method")).map((method: any) => method.Properties);
    expect(methods.map((method) => method.HttpMethod).sort()).toEqual(["GET", "PUT"]);
    for (const method of methods) {
      expect(method.AuthorizationType).toBe("AWS_IAM");
      expect(method.RequestValidatorId).toBeDefined();
      expect(method.Integration).toMatchObject({ Type: "AWS_PROXY", IntegrationHttpMethod: "POST" });
    }
    byDefault.hasResourceProperties("AWS::ApiGateway::Model", {
      ContentType: "application/json",
      Schema: Match.objectLike({ type: "array", minItems: 1, maxItems: 10000 }),
    });
    byDefault.hasResourceProperties("AWS::ApiGateway::RequestValidator", { ValidateRequestBody: true, ValidateRequestParameters: true });
    byDefault.hasResourceProperties("AWS::ApiGateway::GatewayResponse", { ResponseType: "BAD_REQUEST_BODY", StatusCode: "400" });
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
    template.hasResourceProperties("AWS::ApiGateway::UsagePlan", { Throttle: { RateLimit: 16, BurstLimit: 32 } });
  });

  it("answers CORS preflight only when origins are given", () => {
    expect(JSON.stringify(byDefault.findResources("AWS::ApiGateway::Method"))).not.toContain("OPTIONS");
    const template = templateOf({ corsAllowOrigins: "https://ops.example.com" });
    template.hasResourceProperties("AWS::ApiGateway::Method", { HttpMethod: "OPTIONS" });
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
          InputPath: "$.detail",
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId("DeadLetterQueue"), "Arn"] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it("feed the function from the burst queue with partial batch responses, no faster than the rate limit allows", () => {
    byDefault.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: 1800,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [queueId("DeadLetterQueue"), "Arn"] }, maxReceiveCount: 5 },
    });
    byDefault.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [queueId("BurstQueue"), "Arn"] },
      BatchSize: 5,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    templateOf({ kustomerRateLimitPerMinute: "6000" }).hasResourceProperties("AWS::Lambda::EventSourceMapping", { ScalingConfig: { MaximumConcurrency: 4 } });
    const sends = functionStatements(byDefault).filter((statement) => JSON.stringify(statement.Action).includes("sqs:SendMessage"));
    expect(sends.map((statement) => statement.Resource)).toContainEqual({ "Fn::GetAtt": [queueId("DeadLetterQueue"), "Arn"] });
  });

  it("can use the default bus instead", () => {
    const template = templateOf({ eventBusName: "default" });
    template.resourceCountIs("AWS::Events::EventBus", 0);
    template.hasResourceProperties("AWS::Events::Rule", { EventBusName: "default" });
  });

  it("keep failed asynchronous invocations in the encrypted, TLS-only dead-letter queue", () => {
    const dlq = queueId("DeadLetterQueue");
    expect(byDefault.toJSON().Resources[dlq].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
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

  it("submits, waits, checks status until all complete, and reports the operations", () => {
    expect(definition.StartAt).toBe("Submit");
    expect(definition.States.Submit).toMatchObject({ Type: "Task", Resource: "REF", ResultPath: "$.submitted", Next: "DryRun?" });
    expect(definition.States.Submit.Parameters).toBeUndefined();
    expect(definition.States.WaitForKustomer).toMatchObject({ Type: "Wait", Seconds: 30, Next: "CheckStatus" });
    expect(definition.States.CheckStatus.Parameters).toEqual({ action: "status", "bulkIds.$": "$.submitted.operations[*].bulkId" });
    expect(definition.States["AllComplete?"].Choices[0]).toEqual({ Variable: "$.status.allComplete", BooleanEquals: true, Next: "Report" });
    expect(definition.States["AllComplete?"].Default).toBe("WaitForKustomer");
    expect(definition.States.Report.Parameters).toEqual({ "items.$": "$.submitted.items", "operations.$": "$.status.operations" });
    expect(definition.States["DryRun?"].Choices[0]).toEqual({ Variable: "$.submitted.status", StringEquals: "dryRun", Next: "DryRunPlanned" });
    expect(definition.States.BulkUpdateFailed).toEqual({ Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
  });

  it("retries the retryable error names and Lambda's transient faults, and catches the rest", () => {
    for (const task of ["Submit", "CheckStatus"]) {
      expect(definition.States[task].Retry).toEqual([
        { ErrorEquals: RETRYABLE_ERRORS, IntervalSeconds: 5, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: "FULL" },
      ]);
      expect(definition.States[task].Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "BulkUpdateFailed" }]);
    }
    expect(RETRYABLE_ERRORS).toEqual(expect.arrayContaining(["KustomerRateLimitError", "KustomerUnavailableError", "Lambda.TooManyRequestsException", "Lambda.ServiceException"]));
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
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: expect.stringMatching(/^JobAccessLogs/) }, LogFilePrefix: "job-bucket/" },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: "Enabled" }] },
    });
    byDefault.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucket.logicalId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
    });
    byDefault.hasResourceProperties("Custom::S3BucketNotifications", { NotificationConfiguration: { EventBridgeConfiguration: {} } });
  });

  it("read the JSON Lines file 100 lines per child invocation, within the rate limit, results to S3, then a report", () => {
    const map = jobDefinition.States.UpdateCustomers;
    expect(map).toMatchObject({
      Type: "Map",
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED" } },
      ItemReader: { ReaderConfig: { InputType: "JSONL" }, Parameters: { "Key.$": "$.key" } },
      ItemBatcher: { MaxItemsPerBatch: 100 },
      MaxConcurrency: 3,
      ToleratedFailurePercentage: 10,
      ResultWriter: { Parameters: { Prefix: "results" } },
      Next: "WriteReport",
    });
    expect(map.ItemProcessor.States.SubmitBatch.Retry[0].ErrorEquals).toEqual(RETRYABLE_ERRORS);
    expect(jobDefinition.States.WriteReport.Parameters).toEqual({ "ResultWriterDetails.$": "$.map.ResultWriterDetails" });
    const tuned = templateOf({ kustomerRateLimitPerMinute: "6000", jobToleratedFailurePercent: "25" });
    const parts = onlyResource(tuned, "AWS::StepFunctions::StateMachine", "JobStateMachine").properties.DefinitionString["Fn::Join"][1] as unknown[];
    expect(JSON.parse(parts.map((part) => (typeof part === "string" ? part : "REF")).join("")).States.UpdateCustomers).toMatchObject({
      MaxConcurrency: 16,
      ToleratedFailurePercentage: 25,
    });
  });

  it("start on a file dropped under jobs/", () => {
    const bucket = onlyResource(byDefault, "AWS::S3::Bucket", "JobBucket");
    byDefault.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["aws.s3"], "detail-type": ["Object Created"], detail: { bucket: { name: [{ Ref: bucket.logicalId }] }, object: { key: [{ prefix: "jobs/" }] } } },
      Targets: [Match.objectLike({ Arn: { Ref: onlyResource(byDefault, "AWS::StepFunctions::StateMachine", "JobStateMachine").logicalId }, InputTransformer: Match.objectLike({ InputPathsMap: { "detail-object-key": "$.detail.object.key" } }) })],
    });
  });

  it("let the report function read and write results only", () => {
    const report = onlyResource(byDefault, "AWS::Lambda::Function", "JobReportFunction");
    expect(report.properties).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 900, MemorySize: 1024 });
    const roleId = report.properties.Role["Fn::GetAtt"][0];
    const statements = Object.values(byDefault.findResources("AWS::IAM::Policy"))
      .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => JSON.stringify(statement.Action).includes("s3:"));
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toEqual(["s3:GetObject", "s3:PutObject"]);
    expect(JSON.stringify(statements[0].Resource)).toContain("/results/*");
  });
});

describe("monitoring and outputs", () => {
  it("alarms on function errors, throttles, dead letters, failed workflows and failed jobs, to an encrypted topic", () => {
    const topic = onlyResource(byDefault, "AWS::SNS::Topic");
    expect(topic.properties.KmsMasterKeyId).toBeDefined();
    const alarms = Object.values(byDefault.findResources("AWS::CloudWatch::Alarm")).map((alarm: any) => alarm.Properties);
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(["ApproximateNumberOfMessagesVisible", "Errors", "ExecutionsFailed", "ExecutionsFailed", "Throttles"]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topic.logicalId }]);
    byDefault.resourceCountIs("AWS::SNS::Subscription", 0);
    templateOf({ alarmEmail: "ops@example.com" }).hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
  });

  it("has a dashboard of the function's metrics", () => {
    const dashboard = onlyResource(byDefault, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboard.properties.DashboardBody);
    for (const metric of ["ItemsSubmitted", "BulkRequests", "Retries", "RateLimited", "Failures", "RateLimitRemaining", "HeadroomWaitMs"]) expect(body).toContain(metric);
  });

  it("outputs the API URL, bus name, state machines, secret name, queue URLs and job bucket", () => {
    expect(Object.keys(byDefault.findOutputs("*")).sort()).toEqual([
      "ApiUrl",
      "BurstQueueUrl",
      "DeadLetterQueueUrl",
      "EventBusName",
      "JobBucketName",
      "JobStateMachineArn",
      "SecretName",
      "StateMachineArn",
    ]);
  });
});

describe("settings", () => {
  it("refuse bad context values by name", () => {
    expect(() => synthApp({ kustomerRateLimitPerMinute: "lots" })).toThrow(/kustomerRateLimitPerMinute/);
    expect(() => synthApp({ kustomerBaseUrl: "http://api.kustomerapp.com" })).toThrow(/kustomerBaseUrl/);
    expect(() => synthApp({ kustomerSecretName: "a", kustomerSecretArn: "arn:aws:secretsmanager:x" })).toThrow(/not both/);
  });
});
