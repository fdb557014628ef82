// The stack's four functions, each on reserved slots of its own: the service's (HTTP, direct, bus,
// your own map), the workflow's tasks, the burst queue's consumer, and the job's steps. Each may use
// the data key; all but the queue's consumer, which only starts workflow runs, read the Kustomer key.
import { Duration, type Stack, Validations } from "aws-cdk-lib";
import type { IRole } from "aws-cdk-lib/aws-iam";
import { MAX_COMMAND_ITEMS } from "../lambda/contract/limits.ts";
import type { DataKey } from "./data-key.ts";
import type { KustomerApiKey } from "./kustomer-api-key.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ConcurrencyPlan, StackSettings } from "./settings.ts";

export interface StackFunctions {
  fn: ServiceFunction;
  workflowFn: ServiceFunction;
  queueFn: ServiceFunction;
  jobFn: ServiceFunction;
}

export interface FunctionsProps {
  settings: StackSettings;
  concurrency: ConcurrencyPlan;
  dataKey: DataKey;
  kustomerKey: KustomerApiKey;
}

/** In the stack's own scope, so each function keeps its logical id. */
export function createFunctions(stack: Stack, { settings, concurrency, dataKey, kustomerKey }: FunctionsProps): StackFunctions {
  const kustomerEnvironment = {
    KUSTOMER_SECRET_ID: kustomerKey.secretId,
    KUSTOMER_BASE_URL: settings.kustomerBaseUrl,
    MAX_ITEMS: String(MAX_COMMAND_ITEMS),
    KUSTOMER_CONCURRENCY: String(settings.kustomerConcurrency),
    KUSTOMER_RATE_LIMIT_HEADROOM: String(settings.kustomerRateLimitHeadroom),
    POWERTOOLS_SERVICE_NAME: "kustomer-bulk-update",
  };
  const fn = new ServiceFunction(stack, "BulkUpdateFunction", {
    reservedConcurrentExecutions: concurrency.reserved,
    environment: kustomerEnvironment,
    logsKey: dataKey.key,
  });
  const workflowFn = new ServiceFunction(stack, "WorkflowFunction", {
    entry: "workflow-handler",
    reservedConcurrentExecutions: concurrency.workflow,
    environment: kustomerEnvironment,
    logsKey: dataKey.key,
  });
  // The burst queue's consumer only starts workflow runs: slots of its own, so no caller can take
  // them and leave queued commands to drift to the dead-letter queue.
  const queueFn = new ServiceFunction(stack, "QueueConsumerFunction", {
    entry: "queue-handler",
    reservedConcurrentExecutions: concurrency.queue,
    environment: kustomerEnvironment,
    logsKey: dataKey.key,
  });
  const jobFn = new ServiceFunction(stack, "JobFunction", {
    entry: "job-handler",
    reservedConcurrentExecutions: concurrency.jobFunction,
    environment: kustomerEnvironment,
    // The report step reads the whole file once and holds its retry lines.
    memorySize: 1024,
    timeout: Duration.minutes(15),
    logsKey: dataKey.key,
  });
  for (const [stateMachineFn, caller] of [
    [workflowFn, "the workflow"],
    [jobFn, "the job state machine"],
  ] as const) {
    Validations.of(stateMachineFn).acknowledge({
      id: "Serverless::Serverless-LambdaDLQ",
      reason: `Only ${caller} invokes it, synchronously: each failure is the state machine's to retry, catch and report. A dead-letter queue receives asynchronous invocations only.`,
    });
  }
  for (const [id, each] of [
    ["BulkUpdateFunction", fn],
    ["WorkflowFunction", workflowFn],
    ["JobFunction", jobFn],
    ["QueueConsumerFunction", queueFn],
  ] as const) {
    dataKey.allow(id, each.role as IRole);
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
      Validations.of(each.role as IRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`,
        reason:
          "CDK's grants for the KMS-encrypted queues and job bucket, on the stack's data key only; the key's own policy is what allows its use.",
      });
    }
    // The queue's consumer never calls Kustomer: it starts workflow runs.
    if (each !== queueFn) kustomerKey.grantRead(each);
  }
  return { fn, workflowFn, queueFn, jobFn };
}
