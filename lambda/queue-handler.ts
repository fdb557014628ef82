// The burst queue's consumer: each record is a command (or a request event, as the bus rule sends
// it), handed to the bulk-update workflow under its delivery's name. It never calls Kustomer.
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { deadlineOf, servicesFor } from "./composition/services.ts";
import { ConfigurationError, errorNameOf, validationErrorOf } from "./contract/errors.ts";
import { deliveryOf, isSqsEvent, processSqsBatch } from "./events/sqs.ts";
import { countFailure, inInvocation, logger, publishMetrics } from "./platform/observability.ts";

export function handler(event: unknown, context?: Context): Promise<SQSBatchResponse> {
  return inInvocation(async () => {
    const started = Date.now();
    logger.resetKeys();
    if (context) logger.addContext(context);
    if (!isSqsEvent(event))
      throw validationErrorOf([{ path: "Records", message: "this function takes the burst queue's SQS batches only" }]);
    return handleSqsBatch(event, deadlineOf(context, started), started);
  });
}

/** A batch of commands from the queue: failures are per record, so the batch itself does not throw. */
async function handleSqsBatch(event: SQSEvent, deadlineAt: number, started: number): Promise<SQSBatchResponse> {
  logger.appendKeys({ trigger: "sqs" });
  try {
    // A bad configuration fails the whole batch: every record comes back, and none is lost.
    const services = servicesFor(process.env);
    const workflow = services.workflow;
    if (!workflow)
      throw new ConfigurationError("invalid configuration: WORKFLOW_STATE_MACHINE_ARN is required to take commands from a queue");
    const response = await processSqsBatch(
      event,
      async (record) => {
        try {
          const delivery = deliveryOf(record);
          const started = await workflow.start(delivery.name, delivery.input);
          logger.info("workflow started", { messageId: record.messageId, execution: delivery.name, duplicate: started === "duplicate" });
        } catch (error) {
          countFailure(errorNameOf(error));
          throw error;
        }
      },
      services.deadLetters,
      deadlineAt,
      logger,
    );
    logger.info("batch done", {
      records: event.Records.length,
      retried: response.batchItemFailures.length,
      durationMs: Date.now() - started,
    });
    return response;
  } finally {
    publishMetrics();
  }
}
