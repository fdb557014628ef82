// The whole service in one stack, composed here: the data key, the Kustomer key's secret
// (kustomer-api-key.ts), the functions (functions.ts), the queues (queues.ts), the HTTP API (api.ts),
// the command bus (command-bus.ts), the workflow, the job, the tables (idempotency-table.ts,
// changes-table.ts), the alarms (monitoring.ts) and the outputs (outputs.ts). Settings come from CDK
// context (infra/settings.ts).
import { type CfnElement, Duration, Stack, type StackProps, Validations } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import { ArnPrincipal, type IRole, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { OUTCOMES_PREFIX } from "../lambda/contract/names.ts";
import { BulkUpdateApi } from "./api.ts";
import { ChangesTable } from "./changes-table.ts";
import { createCommandBus, guardTheBus } from "./command-bus.ts";
import { DataKey } from "./data-key.ts";
import { createFunctions } from "./functions.ts";
import { createIdempotencyTable } from "./idempotency-table.ts";
import { BulkUpdateJob } from "./job.ts";
import { KustomerApiKey } from "./kustomer-api-key.ts";
import { Monitoring } from "./monitoring.ts";
import { addOutputs } from "./outputs.ts";
import { createQueues } from "./queues.ts";
import type { ServiceFunction } from "./service-function.ts";
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
    ({
      fn: this.fn,
      workflowFn: this.workflowFn,
      queueFn: this.queueFn,
      jobFn: this.jobFn,
    } = createFunctions(this, {
      settings,
      concurrency,
      dataKey: this.dataKey,
      kustomerKey: this.kustomerKey,
    }));
    ({
      deadLetterQueue: this.deadLetterQueue,
      failedDeliveriesQueue: this.failedDeliveriesQueue,
      burstQueue: this.burstQueue,
    } = createQueues(this, { dataKey: this.dataKey, fn: this.fn, queueFn: this.queueFn, queueConcurrency: concurrency.queue }));

    this.api = new BulkUpdateApi(this, "Api", {
      fn: this.fn,
      kustomerRateLimitPerMinute: settings.kustomerRateLimitPerMinute,
      apiKeyAuth: settings.apiKeyAuth,
      apiKeyCallers: settings.apiKeyCallers,
      callerRoleArns: settings.callerRoleArns,
      corsAllowOrigins: settings.corsAllowOrigins,
      logsKey: this.dataKey.key,
    });
    this.bus = createCommandBus(this, { settings, burstQueue: this.burstQueue, failedDeliveriesQueue: this.failedDeliveriesQueue });
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
    guardTheBus(this, { settings, bus: this.bus, workflow: this.workflow.stateMachine, job: this.job.stateMachine });
    this.idempotencyTable = createIdempotencyTable(this, { key: this.dataKey.key, fn: this.fn, workflowFn: this.workflowFn });
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

    addOutputs(this, {
      api: this.api,
      bus: this.bus,
      workflow: this.workflow.stateMachine,
      kustomerKey: this.kustomerKey,
      deadLetterQueue: this.deadLetterQueue,
      failedDeliveriesQueue: this.failedDeliveriesQueue,
      burstQueue: this.burstQueue,
      job: this.job,
      monitoring: this.monitoring,
      fn: this.fn,
    });
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
}
