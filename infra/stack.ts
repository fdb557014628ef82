// The whole service in one stack: the function, its secret, the HTTP API, the event bus rule, the
// workflow, the dead-letter queue and the alarms. Settings come from CDK context (infra/settings.ts).
import { ArnFormat, CfnOutput, Duration, Stack, Validations, type StackProps } from "aws-cdk-lib";
import {
  AccessLogFormat,
  AuthorizationType,
  Cors,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import { EventBus, Rule, RuleTargetInput, type IEventBus } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { BULK_UPDATE_DETAIL_TYPE } from "../lambda/events/eventbridge.ts";
import { BulkUpdateFunction, FUNCTION_TIMEOUT } from "./bulk-update-function.ts";
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
  readonly secret: ISecret;
  readonly api: RestApi;
  readonly bus: IEventBus;
  readonly deadLetterQueue: Queue;
  readonly burstQueue: Queue;
  readonly workflow: BulkUpdateWorkflow;
  readonly job: BulkUpdateJob;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: BulkUpdateStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.secret = settings.kustomerSecretArn
      ? Secret.fromSecretCompleteArn(this, "KustomerApiKey", settings.kustomerSecretArn)
      : settings.kustomerSecretName
        ? Secret.fromSecretNameV2(this, "KustomerApiKey", settings.kustomerSecretName)
        : new Secret(this, "KustomerApiKey", {
            description: "Kustomer API key for kustomer-bulk-update: put the key in, as JSON {\"apiKey\": \"...\"} or as plain text",
          });

    if (this.secret instanceof Secret) {
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions::AwsSolutions-SMG4",
        reason:
          "Kustomer API keys are issued only in Kustomer's admin UI, so no rotation Lambda can make one. Operators rotate by putting a new key in this secret; the function refetches it on a 401, so rotation needs no redeploy.",
      });
    }

    const concurrency = concurrencyPlan(settings.kustomerRateLimitPerMinute, settings.kustomerConcurrency, settings.kustomerRateLimitHeadroom);
    this.fn = new BulkUpdateFunction(this, "BulkUpdateFunction", {
      reservedConcurrentExecutions: concurrency.reserved,
      environment: {
        KUSTOMER_SECRET_ID: settings.kustomerSecretName ?? this.secret.secretArn,
        KUSTOMER_BASE_URL: settings.kustomerBaseUrl,
        MAX_ITEMS: String(MAX_ITEMS),
        KUSTOMER_CONCURRENCY: String(settings.kustomerConcurrency),
        KUSTOMER_RATE_LIMIT_HEADROOM: String(settings.kustomerRateLimitHeadroom),
        POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
      },
    });
    this.grantSecret(settings);

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions::AwsSolutions-SQS3",
      reason: "This queue is itself the dead-letter queue (EventBridge target DLQ and the function's on-failure destination); it is alarmed, not redriven further.",
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

    // Bursts of events wait here and reach the function no faster than Kustomer's budget allows.
    this.burstQueue = new Queue(this, "BurstQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's advice for a queue feeding a function: six times the function's timeout.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.fn.addEventSource(
      new SqsEventSource(this.burstQueue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxConcurrency: concurrency.queue,
      }),
    );

    this.api = this.createApi(settings);
    this.bus = this.createEventRule(settings);
    this.workflow = new BulkUpdateWorkflow(this, "Workflow", { fn: this.fn, pollInterval: Duration.seconds(settings.statusPollSeconds) });
    this.job = new BulkUpdateJob(this, "Job", {
      fn: this.fn,
      maxConcurrency: concurrency.job,
      toleratedFailurePercentage: settings.jobToleratedFailurePercent,
    });
    this.monitoring = new Monitoring(this, "Monitoring", {
      fn: this.fn,
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
  }

  /** GetSecretValue on this one secret, and nothing else; kms:Decrypt only through Secrets Manager. */
  private grantSecret(settings: StackSettings): void {
    const secretArn = settings.kustomerSecretArn
      ? settings.kustomerSecretArn
      : settings.kustomerSecretName
        ? this.formatArn({ service: "secretsmanager", resource: "secret", resourceName: `${settings.kustomerSecretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })
        : this.secret.secretArn;
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] }));
    if (settings.kustomerKmsKeyArn) {
      this.fn.addToRolePolicy(
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
        stageName: "v1",
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies hold personal data: never log them.
        dataTraceEnabled: false,
        // Each call may carry up to 100 Kustomer requests; the function paces itself, the API caps callers.
        throttlingRateLimit: requestsPerSecond,
        throttlingBurstLimit: requestsPerSecond * 2,
        accessLogDestination: new LogGroupLogDestination(new LogGroup(this, "ApiAccessLogs", { retention: RetentionDays.THREE_MONTHS })),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: settings.apiKeyAuth
        ? { authorizationType: AuthorizationType.NONE, apiKeyRequired: true }
        : { authorizationType: AuthorizationType.IAM },
      ...(settings.corsAllowOrigins?.length
        ? { defaultCorsPreflightOptions: { allowOrigins: settings.corsAllowOrigins, allowMethods: ["GET", "PUT"], allowHeaders: Cors.DEFAULT_HEADERS } }
        : {}),
    });

    const validator = api.addRequestValidator("Validator", { validateRequestBody: true, validateRequestParameters: true });
    // A first, cheap check at the edge; the function validates every field.
    const body = api.addModel("BulkUpdateBody", {
      contentType: "application/json",
      schema: {
        schema: JsonSchemaVersion.DRAFT4,
        title: "BulkUpdateBody",
        type: JsonSchemaType.ARRAY,
        minItems: 1,
        maxItems: MAX_ITEMS,
        items: { type: JsonSchemaType.OBJECT, required: ["id"], properties: { id: { type: JsonSchemaType.STRING, pattern: "^[0-9a-fA-F]{24}$" } } },
      },
    });
    api.addGatewayResponse("BadRequestBody", {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: "400",
      templates: { "application/json": '{"error":{"name":"ValidationError","message":$context.error.messageString}}' },
    });

    const integration = new LambdaIntegration(this.fn);
    api.root
      .addResource("customers")
      .addResource("bulk")
      .addMethod("PUT", integration, {
        requestValidator: validator,
        requestModels: { "application/json": body },
        requestParameters: { "method.request.querystring.ids": false, "method.request.querystring.dryRun": false },
      });
    api.root
      .addResource("bulk")
      .addResource("{bulkId}")
      .addMethod("GET", integration, { requestValidator: validator, requestParameters: { "method.request.path.bulkId": true } });

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
    Validations.of(api).acknowledge({
      id: "AwsSolutions::AwsSolutions-APIG3",
      reason: "Regional API for system callers, IAM- or key-authorised, with stage and usage-plan throttling; a WAF web ACL can be attached by the organisation without changing this stack.",
    });
    if (settings.apiKeyAuth) {
      Validations.of(api).acknowledge({
        id: "AwsSolutions::AwsSolutions-APIG4",
        reason: "apiKeyAuth was chosen for callers outside AWS: every method requires an API key bound to a throttled usage plan. IAM (SigV4) is the default.",
      });
      const plan = api.addUsagePlan("UsagePlan", {
        throttle: { rateLimit: requestsPerSecond, burstLimit: requestsPerSecond * 2 },
        apiStages: [{ api, stage: api.deploymentStage }],
      });
      plan.addApiKey(api.addApiKey("CallerKey"));
    }
    return api;
  }

  private createEventRule(settings: StackSettings): IEventBus {
    const bus =
      settings.eventBusName === "default"
        ? EventBus.fromEventBusName(this, "Bus", "default")
        : new EventBus(this, "Bus", { eventBusName: settings.eventBusName ?? "kustomer-bulk-update" });
    // Events are buffered in the queue: the queue's message is the command (the event's detail).
    new Rule(this, "BulkUpdateRequested", {
      eventBus: bus,
      eventPattern: { detailType: [BULK_UPDATE_DETAIL_TYPE] },
      targets: [
        new SqsQueue(this.burstQueue, {
          message: RuleTargetInput.fromEventPath("$.detail"),
          deadLetterQueue: this.deadLetterQueue,
          maxEventAge: Duration.hours(24),
          retryAttempts: 185,
        }),
      ],
    });
    return bus;
  }
}
