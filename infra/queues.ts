// The stack's queues: the burst queue that commands wait in until the rate budget lets them through,
// and two dead-letter queues, so that one redrive fits what each holds: commands that only need to be
// queued again (DeadLetterQueue), and records an operator must read first (FailedDeliveriesQueue).
import { Duration, type Stack, Validations } from "aws-cdk-lib";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { ASYNC_RETRIES, QUEUE_RECEIVES } from "../lambda/contract/retry-policy.ts";
import type { DataKey } from "./data-key.ts";
import { FUNCTION_TIMEOUT, type ServiceFunction } from "./service-function.ts";

export interface StackQueues {
  deadLetterQueue: Queue;
  failedDeliveriesQueue: Queue;
  burstQueue: Queue;
}

export interface QueuesProps {
  dataKey: DataKey;
  /** The service's function: its failed asynchronous invocations land in the failed deliveries. */
  fn: ServiceFunction;
  /** The burst queue's consumer, and how many of it run at once. */
  queueFn: ServiceFunction;
  queueConcurrency: number;
}

/** In the stack's own scope, so each queue keeps its logical id. */
export function createQueues(stack: Stack, { dataKey, fn, queueFn, queueConcurrency }: QueuesProps): StackQueues {
  // Two dead-letter queues, so that one redrive fits what each holds: commands that only need to be
  // queued again, and records of other kinds that an operator must read first.
  const deadLetters = (id: string) => {
    const queue = new Queue(stack, id, {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: dataKey.key,
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
  const deadLetterQueue = deadLetters("DeadLetterQueue");
  const failedDeliveriesQueue = deadLetters("FailedDeliveriesQueue");
  // Asynchronous invocations that still fail after Lambda's retries land here whole.
  failedDeliveriesQueue.grantSendMessages(fn);
  fn.configureAsyncInvoke({
    onFailure: new SqsDestination(failedDeliveriesQueue),
    retryAttempts: ASYNC_RETRIES,
    maxEventAge: Duration.hours(6),
  });
  Validations.of(fn).acknowledge({
    id: "Serverless::Serverless-LambdaDLQ",
    reason:
      "Failed asynchronous invocations go to the dead-letter queue through the on-failure destination above, which also carries the failure's context; a DeadLetterConfig as well would deliver each failure twice.",
  });

  // Bursts of events wait here and reach the function no faster than Kustomer's budget allows.
  const burstQueue = new Queue(stack, "BurstQueue", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: dataKey.key,
    enforceSSL: true,
    // AWS's advice for a queue feeding a function: six times the function's timeout.
    visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: QUEUE_RECEIVES },
  });
  // The queue's consumer only starts workflow runs, so a few invocations keep up with any burst.
  const eventSource = new SqsEventSource(burstQueue, {
    batchSize: 5,
    reportBatchItemFailures: true,
    maxConcurrency: queueConcurrency,
  });
  queueFn.addEventSource(eventSource);
  // Records that can never start are sent by the consumer itself, with their reason.
  queueFn.addEnvironment("DEAD_LETTER_QUEUE_URL", failedDeliveriesQueue.queueUrl);
  failedDeliveriesQueue.grantSendMessages(queueFn);
  Validations.of(queueFn).acknowledge({
    id: "Serverless::Serverless-LambdaDLQ",
    reason:
      "Only its event source mapping invokes it, synchronously: a failed record returns to the burst queue, whose redrive policy moves it to the dead-letter queue after 5 receives.",
  });
  Validations.of(queueFn).acknowledge({
    id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
    reason:
      "SQS event source mappings take no on-failure destination: the burst queue's redrive policy moves a record to the dead-letter queue after 5 receives, and the function sends never-valid records there at once.",
  });

  return { deadLetterQueue, failedDeliveriesQueue, burstQueue };
}
