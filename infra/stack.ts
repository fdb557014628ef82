// The whole service in one stack: the function, the Kustomer key's secret (kustomer-api-key.ts), the
// HTTP API (api.ts), the event bus rule and its burst queue, the workflow with its own function, the
// job, the dead-letter queue and the alarms. Settings come from CDK context (infra/settings.ts).
import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { CfnEventBusPolicy, EventBus, type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { ArnPrincipal, Effect, type IRole, PolicyStatement, StarPrincipal } from "aws-cdk-lib/aws-iam";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { MAX_COMMAND_ITEMS } from "../lambda/contract/limits.ts";
import {
  BULK_RECORD_KEY_PREFIX,
  BULK_UPDATE_DETAIL_TYPE,
  IDEMPOTENCY_KEY_PREFIX,
  OUTCOME_SOURCE,
  OUTCOMES_PREFIX,
} from "../lambda/contract/names.ts";
import { ASYNC_RETRIES, EVENT_DELIVERY_RETRIES, QUEUE_RECEIVES } from "../lambda/contract/retry-policy.ts";
import { BulkUpdateApi, callerSuffix } from "./api.ts";
import { ChangesTable } from "./changes-table.ts";
import { DataKey } from "./data-key.ts";
import { BulkUpdateJob } from "./job.ts";
import { KustomerApiKey } from "./kustomer-api-key.ts";
import { Monitoring } from "./monitoring.ts";
import { FUNCTION_TIMEOUT, ServiceFunction } from "./service-function.ts";
import { concurrencyPlan, type StackSettings } from "./settings.ts";
import { BulkUpdateWorkflow } from "./workflow.ts";

export interface BulkUpdateStackProps extends StackProps {
  settings: StackSettings;
}

export class BulkUpdateStack extends Stack {
  readonly fn: ServiceFunction;
  /** The burst queue's consumer: it starts a workflow run per command. */
  readonly queueFn: ServiceFunction;
  /** The workflow's tasks run here, apart from the callers who wait for an answer. */
  readonly workflowFn: ServiceFunction;
  /** Every step of a large job runs here. */
  readonly jobFn: ServiceFunction;
  /** One record per idempotency key (CONTRACT §2.4). */
  readonly idempotencyTable: Table;
  /** With `sendOnlyChanges`: what Kustomer last applied, per customer and field. */
  readonly changesTable?: Table;
  /** Where the functions read the Kustomer API key. */
  readonly kustomerKey: KustomerApiKey;
  readonly api: BulkUpdateApi;
  readonly bus: IEventBus;
  /** Queued commands that failed 5 receives: redriven to the burst queue as they are. */
  readonly deadLetterQueue: Queue;
  /** What an operator inspects, each record saying what it is: refused commands, failed async invocations and rule deliveries. */
  readonly failedDeliveriesQueue: Queue;
  readonly burstQueue: Queue;
  readonly workflow: BulkUpdateWorkflow;
  readonly job: BulkUpdateJob;
  readonly monitoring: Monitoring;
  readonly dataKey: DataKey;

  constructor(scope: Construct, id: string, props: BulkUpdateStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.dataKey = new DataKey(this, "Data", { operatorRoleArn: settings.operatorRoleArn });

    this.kustomerKey = new KustomerApiKey(this, "Kustomer", {
      secretArn: settings.kustomerSecretArn,
      secretName: settings.kustomerSecretName,
      secretKmsKeyArn: settings.kustomerKmsKeyArn,
      encryptionKey: this.dataKey.key,
      adminRoleArn: settings.kustomerKeyAdminRoleArn,
    });

    const concurrency = concurrencyPlan(
      settings.kustomerRateLimitPerMinute,
      settings.kustomerConcurrency,
      settings.kustomerRateLimitHeadroom,
    );
    const kustomerEnvironment = {
      KUSTOMER_SECRET_ID: this.kustomerKey.secretId,
      KUSTOMER_BASE_URL: settings.kustomerBaseUrl,
      MAX_ITEMS: String(MAX_COMMAND_ITEMS),
      KUSTOMER_CONCURRENCY: String(settings.kustomerConcurrency),
      KUSTOMER_RATE_LIMIT_HEADROOM: String(settings.kustomerRateLimitHeadroom),
      POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
    };
    this.fn = new ServiceFunction(this, "BulkUpdateFunction", {
      reservedConcurrentExecutions: concurrency.reserved,
      environment: kustomerEnvironment,
      logsKey: this.dataKey.key,
    });
    this.workflowFn = new ServiceFunction(this, "WorkflowFunction", {
      entry: "workflow-handler",
      reservedConcurrentExecutions: concurrency.workflow,
      environment: kustomerEnvironment,
      logsKey: this.dataKey.key,
    });
    // The burst queue's consumer only starts workflow runs: slots of its own, so no caller can take
    // them and leave queued commands to drift to the dead-letter queue.
    this.queueFn = new ServiceFunction(this, "QueueConsumerFunction", {
      entry: "queue-handler",
      reservedConcurrentExecutions: concurrency.queue,
      environment: kustomerEnvironment,
      logsKey: this.dataKey.key,
    });
    this.jobFn = new ServiceFunction(this, "JobFunction", {
      entry: "job-handler",
      reservedConcurrentExecutions: concurrency.jobFunction,
      environment: kustomerEnvironment,
      // The report step reads the whole file once and holds its retry lines.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      logsKey: this.dataKey.key,
    });
    for (const [fn, caller] of [
      [this.workflowFn, "the workflow"],
      [this.jobFn, "the job state machine"],
    ] as const) {
      Validations.of(fn).acknowledge({
        id: "Serverless::Serverless-LambdaDLQ",
        reason: `Only ${caller} invokes it, synchronously: each failure is the state machine's to retry, catch and report. A dead-letter queue receives asynchronous invocations only.`,
      });
    }
    for (const [id, fn] of [
      ["BulkUpdateFunction", this.fn],
      ["WorkflowFunction", this.workflowFn],
      ["JobFunction", this.jobFn],
      ["QueueConsumerFunction", this.queueFn],
    ] as const) {
      this.dataKey.allow(id, fn.role as IRole);
      for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
        Validations.of(fn.role as IRole).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`,
          reason:
            "CDK's grants for the KMS-encrypted queues and job bucket, on the stack's data key only; the key's own policy is what allows its use.",
        });
      }
      // The queue's consumer never calls Kustomer: it starts workflow runs.
      if (fn !== this.queueFn) this.kustomerKey.grantRead(fn);
    }

    // Two dead-letter queues, so that one redrive fits what each holds: commands that only need to be
    // queued again, and records of other kinds that an operator must read first.
    const deadLetters = (id: string) => {
      const queue = new Queue(this, id, {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: this.dataKey.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      for (const rule of ["Serverless::Serverless-SQSRedrivePolicy", "AwsSolutions::AwsSolutions-SQS3"]) {
        Validations.of(queue).acknowledge({
          id: rule,
          reason:
            "This queue is itself a dead-letter queue (of the burst queue, the rules' targets and the function's asynchronous invocations): what lands here is alarmed and inspected by an operator; there is nowhere further to send it.",
        });
      }
      return queue;
    };
    this.deadLetterQueue = deadLetters("DeadLetterQueue");
    this.failedDeliveriesQueue = deadLetters("FailedDeliveriesQueue");
    // Asynchronous invocations that still fail after Lambda's retries land here whole.
    this.failedDeliveriesQueue.grantSendMessages(this.fn);
    this.fn.configureAsyncInvoke({
      onFailure: new SqsDestination(this.failedDeliveriesQueue),
      retryAttempts: ASYNC_RETRIES,
      maxEventAge: Duration.hours(6),
    });
    Validations.of(this.fn).acknowledge({
      id: "Serverless::Serverless-LambdaDLQ",
      reason:
        "Failed asynchronous invocations go to the dead-letter queue through the on-failure destination above, which also carries the failure's context; a DeadLetterConfig as well would deliver each failure twice.",
    });

    // Bursts of events wait here and reach the function no faster than Kustomer's budget allows.
    this.burstQueue = new Queue(this, "BurstQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey.key,
      enforceSSL: true,
      // AWS's advice for a queue feeding a function: six times the function's timeout.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: QUEUE_RECEIVES },
    });
    // The queue's consumer only starts workflow runs, so a few invocations keep up with any burst.
    const eventSource = new SqsEventSource(this.burstQueue, {
      batchSize: 5,
      reportBatchItemFailures: true,
      maxConcurrency: concurrency.queue,
    });
    this.queueFn.addEventSource(eventSource);
    // Records that can never start are sent by the consumer itself, with their reason.
    this.queueFn.addEnvironment("DEAD_LETTER_QUEUE_URL", this.failedDeliveriesQueue.queueUrl);
    this.failedDeliveriesQueue.grantSendMessages(this.queueFn);
    Validations.of(this.queueFn).acknowledge({
      id: "Serverless::Serverless-LambdaDLQ",
      reason:
        "Only its event source mapping invokes it, synchronously: a failed record returns to the burst queue, whose redrive policy moves it to the dead-letter queue after 5 receives.",
    });
    Validations.of(this.queueFn).acknowledge({
      id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
      reason:
        "SQS event source mappings take no on-failure destination: the burst queue's redrive policy moves a record to the dead-letter queue after 5 receives, and the function sends never-valid records there at once.",
    });

    this.api = new BulkUpdateApi(this, "Api", {
      fn: this.fn,
      kustomerRateLimitPerMinute: settings.kustomerRateLimitPerMinute,
      apiKeyAuth: settings.apiKeyAuth,
      apiKeyCallers: settings.apiKeyCallers,
      callerRoleArns: settings.callerRoleArns,
      corsAllowOrigins: settings.corsAllowOrigins,
      logsKey: this.dataKey.key,
    });
    this.bus = this.createEventRule(settings);
    this.job = new BulkUpdateJob(this, "Job", {
      bus: this.bus,
      fn: this.jobFn,
      maxConcurrency: concurrency.job,
      toleratedFailurePercentage: settings.jobToleratedFailurePercent,
      pollInterval: Duration.seconds(settings.statusPollSeconds),
      statusTimeout: Duration.minutes(settings.statusTimeoutMinutes),
      dataKey: this.dataKey,
      deadLetterQueue: this.failedDeliveriesQueue,
      producerRoleArns: settings.producerRoleArns,
      // The workflow's function keeps long outcome lists under results/outcomes/.
      resultWriterArns: [this.workflowFn.role?.roleArn ?? "", ...(settings.operatorRoleArn ? [settings.operatorRoleArn] : [])].filter(
        Boolean,
      ),
    });
    this.workflow = new BulkUpdateWorkflow(this, "Workflow", {
      fn: this.workflowFn,
      bus: this.bus,
      pollInterval: Duration.seconds(settings.statusPollSeconds),
      statusTimeout: Duration.minutes(settings.statusTimeoutMinutes),
      dataKey: this.dataKey,
    });
    this.startWorkflowFromQueue();
    this.guardTheBus(settings);
    this.idempotencyTable = this.applyDeliveriesOnce();
    if (settings.sendOnlyChanges)
      this.changesTable = new ChangesTable(this, "Changes", {
        functions: [this.fn, this.workflowFn, this.jobFn],
        key: this.dataKey.key,
        ttl: Duration.days(settings.changesTtlDays),
      }).table;
    this.keepLongListsInTheJobBucket();
    // Producers send commands (SQS) and job files (S3): never the secret's key or the execution
    // history, which the operator reads.
    if (settings.producerRoleArns.length)
      this.dataKey.allowThroughQueuesAndBuckets(
        "Producers",
        settings.producerRoleArns.map((arn) => new ArnPrincipal(arn)),
      );
    this.monitoring = new Monitoring(this, "Monitoring", {
      api: this.api,
      fn: this.fn,
      workflowFn: this.workflowFn,
      jobFn: this.jobFn,
      queueFn: this.queueFn,
      burstQueue: this.burstQueue,
      deadLetterQueue: this.deadLetterQueue,
      failedDeliveriesQueue: this.failedDeliveriesQueue,
      stateMachine: this.workflow.stateMachine,
      jobStateMachine: this.job.stateMachine,
      alarmEmail: settings.alarmEmail,
    });

    // RestApi adds an "Endpoint" output of its own; ApiUrl below replaces it under a stable name.
    this.api.node.tryRemoveChild("Endpoint");
    new CfnOutput(this, "ApiUrl", { value: this.api.url, description: "Base URL: PUT customers/bulk, GET bulk/{bulkId} (SigV4-signed)" });
    new CfnOutput(this, "EventBusName", { value: this.bus.eventBusName });
    new CfnOutput(this, "StateMachineArn", { value: this.workflow.stateMachine.stateMachineArn });
    for (const [caller, key] of this.api.apiKeys) {
      new CfnOutput(this, `ApiKeyId${callerSuffix(caller)}`, {
        value: key.keyId,
        description: `${caller}'s key: aws apigateway get-api-key --include-value --api-key <this>: send its value as x-api-key`,
      });
    }
    new CfnOutput(this, "SecretName", {
      value: this.kustomerKey.secretName,
      description: 'Put the key in: aws secretsmanager put-secret-value --secret-id <this> --secret-string \'{"apiKey":"<key>"}\'',
    });
    new CfnOutput(this, "DeadLetterQueueUrl", {
      value: this.deadLetterQueue.queueUrl,
      description: "Queued commands that failed 5 receives: redrive them to the burst queue",
    });
    new CfnOutput(this, "FailedDeliveriesQueueUrl", {
      value: this.failedDeliveriesQueue.queueUrl,
      description: "Refused commands, failed async invocations and rule deliveries: read each before acting",
    });
    new CfnOutput(this, "JobBucketName", {
      value: this.job.bucket.bucketName,
      description: "Put a JSON Lines file of customer updates under jobs/ to run it",
    });
    new CfnOutput(this, "JobStateMachineArn", { value: this.job.stateMachine.stateMachineArn });
    new CfnOutput(this, "BurstQueueUrl", {
      value: this.burstQueue.queueUrl,
      description: "Commands sent here are applied as the rate limit allows",
    });
    new CfnOutput(this, "DashboardName", { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, "FunctionLogGroupName", { value: this.fn.logGroup.logGroupName });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.monitoring.topic.topicArn,
      description: "Subscribe to be told when an alarm fires",
    });
  }

  /**
   * Each delivery applied once: Powertools Idempotency's table (partition key `id`, TTL attribute
   * `expiration`), read and written by the functions that submit, and by nothing else. It also keeps
   * which HTTP caller received which bulk ids (`bulk#` keys, 30 days), read in batches.
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
      // Records live a day, bulk ids 30 days: nothing in them outlives the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Each function touches only its own kinds of record: the idempotency records, and (HTTP calls reach
    // only the service function) the bulk ids it records and reads, in batches.
    const own = (fn: ServiceFunction, actions: string[], prefixes: string[]) =>
      fn.addToRolePolicy(
        new PolicyStatement({
          actions,
          resources: [table.tableArn],
          conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes.map((prefix) => `${prefix}*`) } },
        }),
      );
    for (const fn of [this.fn, this.workflowFn]) {
      own(fn, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [`${IDEMPOTENCY_KEY_PREFIX}#`]);
      fn.addEnvironment("IDEMPOTENCY_TABLE_NAME", table.tableName);
    }
    own(this.fn, ["dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"], [BULK_RECORD_KEY_PREFIX]);
    return table;
  }

  /** The queue's consumer hands each command to the workflow, named for its delivery. */
  private startWorkflowFromQueue(): void {
    this.queueFn.addEnvironment("WORKFLOW_STATE_MACHINE_ARN", this.workflow.stateMachine.stateMachineArn);
    this.workflow.stateMachine.grantStartExecution(this.queueFn);
  }

  /** Failure lists too long for an outcome event go under results/outcomes/ of the job bucket. */
  private keepLongListsInTheJobBucket(): void {
    this.workflowFn.addEnvironment("RESULTS_BUCKET_NAME", this.job.bucket.bucketName);
    this.workflowFn.addToRolePolicy(
      new PolicyStatement({ actions: ["s3:PutObject"], resources: [this.job.bucket.arnForObjects(`${OUTCOMES_PREFIX}*`)] }),
    );
    Validations.of(this.workflowFn.role as IRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.job.bucket.node.defaultChild as CfnElement)}.Arn>/${OUTCOMES_PREFIX}*]`,
      reason: "Writes the failure lists too long for an outcome event, under results/outcomes/ only: each gets a new name.",
    });
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
          deadLetterQueue: this.failedDeliveriesQueue,
          maxEventAge: Duration.hours(24),
          retryAttempts: EVENT_DELIVERY_RETRIES,
        }),
      ],
    });
    // The operator redrives the dead-letter queue into the burst queue: its move task sends as the operator.
    this.acceptCommandsOnlyFrom(rule, [...settings.producerRoleArns, ...(settings.operatorRoleArn ? [settings.operatorRoleArn] : [])]);
    return bus;
  }

  /**
   * The bus carries orders to write to the CRM and the service's own outcomes: a request source may be
   * put only by the listed producers (none listed: nobody, as for job files), and the outcome source
   * only by the workflow and the job state machines. `events:source` holds every entry's source, so
   * `ForAnyValue` denies a batch that mixes in one. On the default bus the same two statements are
   * added to its policy: they name only this service's sources.
   */
  private guardTheBus(settings: StackSettings): void {
    const sources = [
      { sid: "RequestsOnlyFromProducers", values: settings.eventSources, allowed: settings.producerRoleArns },
      {
        sid: "OutcomesOnlyFromTheService",
        values: [OUTCOME_SOURCE],
        allowed: [this.workflow.stateMachine.role.roleArn, this.job.stateMachine.role.roleArn],
      },
    ];
    // And from the other side: the state machines' roles may put nothing but the outcome source, on any bus.
    for (const machine of [this.workflow.stateMachine, this.job.stateMachine]) {
      machine.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: "OnlyTheOutcomeSource",
          effect: Effect.DENY,
          actions: ["events:PutEvents"],
          resources: ["*"],
          conditions: { "ForAnyValue:StringNotEquals": { "events:source": [OUTCOME_SOURCE] } },
        }),
      );
    }
    for (const { sid, values, allowed } of sources) {
      new CfnEventBusPolicy(this, `Bus${sid}`, {
        eventBusName: this.bus.eventBusName,
        statementId: `${this.stackName}-${sid}`.slice(0, 64),
        statement: {
          Sid: sid,
          Effect: "Deny",
          Principal: "*",
          Action: "events:PutEvents",
          Resource: this.bus.eventBusArn,
          Condition: {
            "ForAnyValue:StringEquals": { "events:source": values },
            ...(allowed.length ? { ArnNotEquals: { "aws:PrincipalArn": allowed } } : {}),
          },
        },
      });
    }
  }

  /** Commands in the burst queue become CRM writes: only the request rule and the listed roles may send them. */
  private acceptCommandsOnlyFrom(rule: Rule, senderRoleArns: string[]): void {
    this.burstQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: "CommandsFromTheRuleAndProducersOnly",
        effect: Effect.DENY,
        principals: [new StarPrincipal()],
        actions: ["sqs:SendMessage"],
        resources: [this.burstQueue.queueArn],
        conditions: {
          ArnNotEquals: { "aws:SourceArn": rule.ruleArn, ...(senderRoleArns.length ? { "aws:PrincipalArn": senderRoleArns } : {}) },
        },
      }),
    );
  }
}
