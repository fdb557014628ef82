// SQS (the buffered event path): each record's body is a command. Only the records that failed
// retryably come back in `batchItemFailures`; the ones that can never succeed go to the dead-letter
// queue at once, with their reason. Records left when time runs short come back untried.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { BulkUpdateError } from "../errors.ts";
import type { DeadLetterQueue } from "../dead-letter.ts";
import type { Log } from "../observability.ts";
import { validationErrorOf } from "../schema.ts";
import { isObject } from "./adapter.ts";

export function isSqsEvent(event: unknown): event is SQSEvent {
  return (
    isObject(event) &&
    Array.isArray(event.Records) &&
    event.Records.length > 0 &&
    event.Records.every((record) => isObject(record) && record.eventSource === "aws:sqs" && typeof record.body === "string")
  );
}

/** Time a record needs at the least: with less left, it is handed back untried rather than cut off. */
const MIN_RECORD_MS = 1_000;

export async function processSqsBatch(
  event: SQSEvent,
  run: (request: unknown) => Promise<unknown>,
  deadLetters: DeadLetterQueue | undefined,
  deadlineAt: number,
  log: Log,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    if (deadlineAt - Date.now() < MIN_RECORD_MS) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      let request: unknown;
      try {
        request = JSON.parse(record.body);
      } catch {
        throw validationErrorOf([{ path: "body", message: "the SQS message is not valid JSON" }]);
      }
      await run(request);
    } catch (error) {
      const known = error instanceof BulkUpdateError;
      if (known && !error.retryable && deadLetters) {
        try {
          await deadLetters.send(record.body, { errorName: error.name, errorMessage: error.message });
          log.warn("record sent to the dead-letter queue", { messageId: record.messageId, error: error.name });
          continue;
        } catch {
          log.error("could not send a record to the dead-letter queue; it will come back", { messageId: record.messageId });
        }
      }
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
