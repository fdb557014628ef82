// The whole service in one stack: the function, its secret, the HTTP API, the event bus rule and its
// burst queue, the workflow with its own function, the job, the dead-letter queue and the alarms. Settings come from CDK context (infra/settings.ts).
import { ArnFormat, CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import {
  AccessLogFormat,
  AuthorizationType,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import { EventBus, Rule, type IEventBus } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { ArnPrincipal, Effect, PolicyStatement, StarPrincipal, type IRole } from "aws-cdk-lib/aws-iam";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { CfnWebACL, CfnWebACLAssociation } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";
import { BULK_UPDATE_DETAIL_TYPE } from "../lambda/events/eventbridge.ts";
import { API_STAGE, HTTP_ROUTES } from "../lambda/events/http-routes.ts";
import { OUTCOMES_PREFIX } from "../lambda/list-store.ts";
import { BulkUpdateFunction, FUNCTION_TIMEOUT } from "./bulk-update-function.ts";
import { DataKey } from "./data-key.ts";
import { BulkUpdateJob } from "./job.ts";
import { MAX_ITEMS } from "./limits.ts";
import { Monitoring } from "./monitoring.ts";
import { concurrencyPlan, type StackSettings } from "./settings.ts";
import { BulkUpdateWorkflow } from "./workflow.ts";

export interface BulkUpdateStackProps extends StackProps {
  settings: StackSettings;
}

export class BulkUpdateStack extends Stack {
  readonly fn: BulkUpdateFunction;
  /** The workflow's tasks run here, apart from the callers who wait for an answer. */
  readonly workflowFn: BulkUpdateFunction;
  /** Every step of a large job runs here. */
  readonly jobFn: BulkUpdateFunction;
  /** One record per idempotency key (CONTRACT §2.4). */
  readonly idempotencyTable: Table;
  readonly secret: ISecret;
  readonly api: RestApi;
  readonly bus: IEventBus;
  readonly deadLetterQueue: Queue;
  readonly burstQueue: Queue;
  readonly workflow: BulkUpdateWorkflow;
  readonly job: BulkUpdateJob;
  readonly monitoring: Monitoring;
  readonly dataKey: DataKey;

  constructor(scope: Construct, id: string, props: BulkUpdateStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.dataKey = new DataKey(this, "Data", { operatorRoleArn: settings.operatorRoleArn });

    this.secret = settings.kustomerSecretArn
      ? Secret.fromSecretCompleteArn(this, "KustomerApiKey", settings.kustomerSecretArn)
      : settings.kustomerSecretName
        ? Secret.fromSecretNameV2(this, "KustomerApiKey", settings.kustomerSecretName)
        : new Secret(this, "KustomerApiKey", {
            description: "Kustomer API key for kustomer-bulk-update: put the key in, as JSON {\"apiKey\": \"...\"} or as plain text",
            encryptionKey: this.dataKey.key,
          });

    if (this.secret instanceof Secret) {
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions::AwsSolutions-SMG4",
        reason:
          "Kustomer API keys are issued only in Kustomer's admin UI, so no rotation Lambda can make one. Operators rotate by putting a new key in this secret; the function refetches it on a 401, so rotation needs no redeploy.",
      });
    }

    const concurrency = concurrencyPlan(settings.kustomerRateLimitPerMinute, settings.kustomerConcurrency, settings.kustomerRateLimitHeadroom);
    const kustomerEnvironment = {
      KUSTOMER_SECRET_ID: settings.kustomerSecretName ?? this.secret.secretArn,
      KUSTOMER_BASE_URL: settings.kustomerBaseUrl,
      MAX_ITEMS: String(MAX_ITEMS),
      KUSTOMER_CONCURRENCY: String(settings.kustomerConcurrency),
      KUSTOMER_RATE_LIMIT_HEADROOM: String(settings.kustomerRateLimitHeadroom),
      POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
    };
    this.fn = new BulkUpdateFunction(this, "BulkUpdateFunction", {
      reservedConcurrentExecutions: concurrency.reserved,
      environment: kustomerEnvironment,
      logsKey: this.dataKey.key,
    });
    this.workflowFn = new BulkUpdateFunction(this, "WorkflowFunction", {
      reservedConcurrentExecutions: concurrency.workflow,
      environment: kustomerEnvironment,
      logsKey: this.dataKey.key,
    });
    this.jobFn = new BulkUpdateFunction(this, "JobFunction", {
      entry: "job-handler",
      reservedConcurrentExecutions: concurrency.jobFunction,
      environment: kustomerEnvironment,
      // The report step reads the whole file once and holds its retry lines.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      logsKey: this.dataKey.key,
    });
    for (const [fn, caller] of [[this.workflowFn, "the workflow"], [this.jobFn, "the job state machine"]] as const) {
      Validations.of(fn).acknowledge({
        id: "Serverless::Serverless-LambdaDLQ",
        reason: `Only ${caller} invokes it, synchronously: each failure is the state machine's to retry, catch and report. A dead-letter queue receives asynchronous invocations only.`,
      });
    }
    for (const [id, fn] of [["BulkUpdateFunction", this.fn], ["WorkflowFunction", this.workflowFn], ["JobFunction", this.jobFn]] as const) {
      this.dataKey.allow(id, fn.role as IRole);
      for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
        Validations.of(fn.role as IRole).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`,
          reason: "CDK's grants for the KMS-encrypted queues and job bucket, on the stack's data key only; the key's own policy is what allows its use.",
        });
      }
      this.grantSecret(fn, settings);
    }

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless::Serverless-SQSRedrivePolicy",
      reason: "This queue is itself the dead-letter queue: what lands here is alarmed and inspected by an operator, then redriven to its source; there is nowhere further to send it.",
    });
    // Records that can never succeed are sent here by the function itself, with their reason.
    this.fn.addEnvironment("DEAD_LETTER_QUEUE_URL", this.deadLetterQueue.queueUrl);
    this.deadLetterQueue.grantSendMessages(this.fn);
    // Asynchronous invocations that still fail after Lambda's retries land here whole.
    this.fn.configureAsyncInvoke({
      onFailure: new SqsDestination(this.deadLetterQueue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    Validations.of(this.fn).acknowledge({
      id: "Serverless::Serverless-LambdaDLQ",
      reason: "Failed asynchronous invocations go to the dead-letter queue through the on-failure destination above, which also carries the failure's context; a DeadLetterConfig as well would deliver each failure twice.",
    });

    // Bursts of events wait here and reach the function no faster than Kustomer's budget allows.
    this.burstQueue = new Queue(this, "BurstQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey.key,
      enforceSSL: true,
      // AWS's advice for a queue feeding a function: six times the function's timeout.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    // The queue's consumer only starts workflow runs, so a few invocations keep up with any burst.
    const eventSource = new SqsEventSource(this.burstQueue, {
      batchSize: 5,
      reportBatchItemFailures: true,
      maxConcurrency: concurrency.queue,
    });
    this.fn.addEventSource(eventSource);
    Validations.of(this.fn).acknowledge({
      id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
      reason: "SQS event source mappings take no on-failure destination: the burst queue's redrive policy moves a record to the dead-letter queue after 5 receives, and the function sends never-valid records there at once.",
    });

    this.api = this.createApi(settings);
    this.bus = this.createEventRule(settings);
    this.job = new BulkUpdateJob(this, "Job", {
      fn: this.jobFn,
      maxConcurrency: concurrency.job,
      toleratedFailurePercentage: settings.jobToleratedFailurePercent,
      pollInterval: Duration.seconds(settings.statusPollSeconds),
      statusTimeout: Duration.minutes(settings.statusTimeoutMinutes),
      dataKey: this.dataKey,
      deadLetterQueue: this.deadLetterQueue,
      producerRoleArns: settings.producerRoleArns,
    });
    this.workflow = new BulkUpdateWorkflow(this, "Workflow", {
      fn: this.workflowFn,
      bus: this.bus,
      pollInterval: Duration.seconds(settings.statusPollSeconds),
      statusTimeout: Duration.minutes(settings.statusTimeoutMinutes),
      dataKey: this.dataKey,
    });
    this.startWorkflowFromQueue();
    this.idempotencyTable = this.applyDeliveriesOnce();
    this.keepLongListsInTheJobBucket();
    settings.producerRoleArns.forEach((arn, index) => this.dataKey.allow(`Producer${index}`, new ArnPrincipal(arn)));
    this.monitoring = new Monitoring(this, "Monitoring", {
      api: this.api,
      fn: this.fn,
      workflowFn: this.workflowFn,
      jobFn: this.jobFn,
      deadLetterQueue: this.deadLetterQueue,
      stateMachine: this.workflow.stateMachine,
      jobStateMachine: this.job.stateMachine,
      alarmEmail: settings.alarmEmail,
    });

    // RestApi adds an "Endpoint" output of its own; ApiUrl below replaces it under a stable name.
    this.api.node.tryRemoveChild("Endpoint");
    new CfnOutput(this, "ApiUrl", { value: this.api.url, description: "Base URL: PUT customers/bulk, GET bulk/{bulkId} (SigV4-signed)" });
    new CfnOutput(this, "EventBusName", { value: this.bus.eventBusName });
    new CfnOutput(this, "StateMachineArn", { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, "SecretName", {
      value: settings.kustomerSecretName ?? this.secret.secretName,
      description: "Put the key in: aws secretsmanager put-secret-value --secret-id <this> --secret-string '{\"apiKey\":\"<key>\"}'",
    });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, "JobBucketName", { value: this.job.bucket.bucketName, description: "Put a JSON Lines file of customer updates under jobs/ to run it" });
    new CfnOutput(this, "JobStateMachineArn", { value: this.job.stateMachine.stateMachineArn });
    new CfnOutput(this, "BurstQueueUrl", { value: this.burstQueue.queueUrl, description: "Commands sent here are applied as the rate limit allows" });
    new CfnOutput(this, "DashboardName", { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, "FunctionLogGroupName", { value: this.fn.logGroup.logGroupName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.monitoring.topic.topicArn, description: "Subscribe to be told when an alarm fires" });
  }

  /**
   * Each delivery applied once: Powertools Idempotency's table (partition key `id`, TTL attribute
   * `expiration`), read and written by the functions that submit, and by nothing else.
   */
  private applyDeliveriesOnce(): Table {
    const table = new Table(this, "IdempotencyTable", {
      partitionKey: { name: "id", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "expiration",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Records hold commands' results (bulk ids, customer ids): encrypted like every other such store.
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey.key,
      // Records live a day: nothing in them outlives the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const fn of [this.fn, this.workflowFn]) {
      table.grant(fn, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem");
      fn.addEnvironment("IDEMPOTENCY_TABLE_NAME", table.tableName);
    }
    return table;
  }

  /** The queue's consumer hands each command to the workflow, named for its delivery. */
  private startWorkflowFromQueue(): void {
    this.fn.addEnvironment("WORKFLOW_STATE_MACHINE_ARN", this.workflow.stateMachine.stateMachineArn);
    this.workflow.stateMachine.grantStartExecution(this.fn);
  }

  /** Failure lists too long for an outcome event go under results/outcomes/ of the job bucket. */
  private keepLongListsInTheJobBucket(): void {
    this.workflowFn.addEnvironment("RESULTS_BUCKET_NAME", this.job.bucket.bucketName);
    this.workflowFn.addToRolePolicy(new PolicyStatement({ actions: ["s3:PutObject"], resources: [this.job.bucket.arnForObjects(`${OUTCOMES_PREFIX}*`)] }));
    Validations.of(this.workflowFn.role as IRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.job.bucket.node.defaultChild as CfnElement)}.Arn>/${OUTCOMES_PREFIX}*]`,
      reason: "Writes the failure lists too long for an outcome event, under results/outcomes/ only: each gets a new name.",
    });
  }

  /** GetSecretValue on this one secret, and nothing else; kms:Decrypt only through Secrets Manager. */
  private grantSecret(fn: BulkUpdateFunction, settings: StackSettings): void {
    const secretArn = settings.kustomerSecretArn
      ? settings.kustomerSecretArn
      : settings.kustomerSecretName
        ? this.formatArn({ service: "secretsmanager", resource: "secret", resourceName: `${settings.kustomerSecretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })
        : this.secret.secretArn;
    fn.addToRolePolicy(new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] }));
    if (settings.kustomerKmsKeyArn) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["kms:Decrypt"],
          resources: [settings.kustomerKmsKeyArn],
          conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }
  }

  private createApi(settings: StackSettings): RestApi {
    const requestsPerSecond = Math.max(1, Math.floor(settings.kustomerRateLimitPerMinute / 60));
    const api = new RestApi(this, "Api", {
      restApiName: "kustomer-bulk-update",
      description: "Bulk customer updates for Kustomer",
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies hold personal data: never log them.
        dataTraceEnabled: false,
        // Each call may carry up to 100 Kustomer requests; the function paces itself, the API caps callers.
        throttlingRateLimit: requestsPerSecond,
        throttlingBurstLimit: requestsPerSecond * 2,
        accessLogDestination: new LogGroupLogDestination(
          new LogGroup(this, "ApiAccessLogs", { retention: RetentionDays.THREE_MONTHS, encryptionKey: this.dataKey.key }),
        ),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: settings.apiKeyAuth
        ? { authorizationType: AuthorizationType.NONE, apiKeyRequired: true }
        : { authorizationType: AuthorizationType.IAM },
      ...(settings.corsAllowOrigins?.length
        ? { defaultCorsPreflightOptions: { allowOrigins: settings.corsAllowOrigins, allowMethods: ["GET", "PUT"], allowHeaders: [...Cors.DEFAULT_HEADERS, "Idempotency-Key"] } }
        : {}),
    });

    // No body model at the edge: the function's own validation answers every caller with its paths
    // and limits (413, 415), and the gateway's own refusals take the same JSON shape.
    for (const [id, type] of [["Default4xx", ResponseType.DEFAULT_4XX], ["Default5xx", ResponseType.DEFAULT_5XX]] as const) {
      api.addGatewayResponse(id, {
        type,
        templates: { "application/json": '{"error":{"name":"$context.error.responseType","message":$context.error.messageString}}\n' },
      });
    }

    // The console's test invocations would bypass the API's authorization.
    const integration = new LambdaIntegration(this.fn, { allowTestInvoke: false });
    // Parameters only: the route's own shape, which the function cannot get wrong either way.
    const requestValidator = api.addRequestValidator("ParameterValidator", { validateRequestParameters: true });
    Validations.of(api).acknowledge({
      id: "AwsSolutions::AwsSolutions-APIG2",
      reason: "The function validates every body completely before anything is sent, and answers with each issue's path, 413 and 415; a gateway body model would refuse some bodies with a different, pathless answer.",
    });
    for (const route of HTTP_ROUTES) {
      const pathParameters = [...route.resource.matchAll(/\{(\w+)\}/g)].map((match) => [`method.request.path.${match[1]}`, true]);
      const query = route.query.map((name) => [`method.request.querystring.${name}`, false]);
      api.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        requestValidator,
        requestParameters: Object.fromEntries([...pathParameters, ...query]),
      });
    }

    Validations.of(api).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason: "API Gateway's account-level logging role: AWS's own policy for exactly this purpose, needed for the stage's execution logs.",
    });
    Validations.of(api).acknowledge({
      id: "AwsSolutions::AwsSolutions-COG4",
      reason: settings.apiKeyAuth
        ? "Callers are systems outside AWS identified by an API key with a usage plan (the apiKeyAuth option); there are no end users to pool."
        : "Callers are AWS principals authorised by IAM (SigV4), which is stronger here than a Cognito user pool: there are no end users.",
    });
    if (settings.apiKeyAuth) {
      Validations.of(api).acknowledge({
        id: "AwsSolutions::AwsSolutions-APIG4",
        reason: "apiKeyAuth was chosen for callers outside AWS: every method requires an API key bound to a throttled usage plan, behind a WAF rate-based rule. IAM (SigV4) is the default.",
      });
      const plan = api.addUsagePlan("UsagePlan", {
        throttle: { rateLimit: requestsPerSecond, burstLimit: requestsPerSecond * 2 },
        apiStages: [{ api, stage: api.deploymentStage }],
      });
      const key = api.addApiKey("CallerKey");
      plan.addApiKey(key);
      new CfnOutput(this, "ApiKeyId", { value: key.keyId, description: "aws apigateway get-api-key --include-value --api-key <this>: send its value as x-api-key" });
      this.protectWithWaf(api, requestsPerSecond);
    } else {
      Validations.of(api).acknowledge({
        id: "AwsSolutions::AwsSolutions-APIG3",
        reason: "Every method requires a SigV4 signature from an AWS principal with execute-api:Invoke, and the stage throttles to the org's Kustomer budget; anonymous traffic never reaches the function. The organisation may still attach a WAF web ACL.",
      });
    }
    return api;
  }

  /**
   * An API key identifies a caller but does not authorize one, and it can leak: a WAF rate-based rule
   * caps what any one address can send, whatever key it holds.
   */
  private protectWithWaf(api: RestApi, requestsPerSecond: number): void {
    const acl = new CfnWebACL(this, "ApiWebAcl", {
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: "kustomer-bulk-update-api", sampledRequestsEnabled: false },
      rules: [
        {
          name: "RatePerAddress",
          priority: 0,
          action: { block: {} },
          // Per five minutes, per client address: the stage's own rate, from a single caller.
          statement: { rateBasedStatement: { aggregateKeyType: "IP", limit: Math.max(100, requestsPerSecond * 300) } },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: "kustomer-bulk-update-rate-per-address", sampledRequestsEnabled: false },
        },
      ],
    });
    new CfnWebACLAssociation(this, "ApiWebAclAssociation", { resourceArn: api.deploymentStage.stageArn, webAclArn: acl.attrArn });
  }

  private createEventRule(settings: StackSettings): IEventBus {
    const bus =
      settings.eventBusName === "default"
        ? EventBus.fromEventBusName(this, "Bus", "default")
        : new EventBus(this, "Bus", { eventBusName: settings.eventBusName ?? "kustomer-bulk-update" });
    // Events are buffered in the queue, whole: the event's id names the workflow run, so a redelivered
    // event starts nothing new. Only the listed sources may request writes (producers need
    // events:PutEvents with that source); the outcome events' own source is never one of them.
    const rule = new Rule(this, "BulkUpdateRequested", {
      eventBus: bus,
      eventPattern: { source: settings.eventSources, detailType: [BULK_UPDATE_DETAIL_TYPE] },
      targets: [
        new SqsQueue(this.burstQueue, {
          deadLetterQueue: this.deadLetterQueue,
          maxEventAge: Duration.hours(24),
          retryAttempts: 185,
        }),
      ],
    });
    this.acceptCommandsOnlyFrom(rule, settings.producerRoleArns);
    return bus;
  }

  /** Commands in the burst queue become CRM writes: only the request rule and the listed roles may send them. */
  private acceptCommandsOnlyFrom(rule: Rule, producerRoleArns: string[]): void {
    this.burstQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: "CommandsFromTheRuleAndProducersOnly",
        effect: Effect.DENY,
        principals: [new StarPrincipal()],
        actions: ["sqs:SendMessage"],
        resources: [this.burstQueue.queueArn],
        conditions: {
          ArnNotEquals: { "aws:SourceArn": rule.ruleArn, ...(producerRoleArns.length ? { "aws:PrincipalArn": producerRoleArns } : {}) },
        },
      }),
    );
  }
}
