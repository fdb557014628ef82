// SQS (the burst queue): each record is a command, or a whole EventBridge request event the bus rule
// forwarded. Each is handed to the workflow under its delivery's name: the event id, else the message
// id. Only the records that failed retryably come back in `batchItemFailures`; the ones that can never
// start go to the dead-letter queue at once, with their reason. Records left when time runs short come
// back untried.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { DeadLetterQueue } from "../adapters/aws/dead-letter.ts";
import { BulkUpdateError, validationErrorOf } from "../contract/errors.ts";
import type { Log } from "../core/ports.ts";
import { commandOfEvent, isObject } from "./adapter.ts";

export function isSqsEvent(event: unknown): event is SQSEvent {
  return (
    isObject(event) &&
    Array.isArray(event.Records) &&
    event.Records.length > 0 &&
    event.Records.every((record) => isObject(record) && record.eventSource === "aws:sqs" && typeof record.body === "string")
  );
}

/** A workflow execution: its name makes a redelivery start nothing new. */
export interface Delivery {
  name: string;
  input: string;
}

/** Step Functions' execution names: the event ids and message ids (UUIDs) fit. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export function deliveryOf(record: SQSRecord): Delivery {
  let message: unknown;
  try {
    message = JSON.parse(record.body);
  } catch {
    throw validationErrorOf([{ path: "body", message: "the SQS message is not valid JSON" }]);
  }
  if (!isObject(message)) throw validationErrorOf([{ path: "body", message: "the SQS message must be a command (a JSON object)" }]);
  const event = message;
  const isEvent = typeof event["detail-type"] === "string" && typeof event.id === "string" && "detail" in event;
  if (!isEvent) return { name: record.messageId, input: record.body };
  const command = commandOfEvent(event["detail-type"], event.detail);
  if (!EXECUTION_NAME.test(event.id as string)) throw validationErrorOf([{ path: "id", message: "must be an EventBridge event id" }]);
  return { name: event.id as string, input: JSON.stringify(command) };
}

/** Time a record needs at the least: with less left, it is handed back untried rather than cut off. */
const MIN_RECORD_MS = 1_000;

export async function processSqsBatch(
  event: SQSEvent,
  run: (record: SQSRecord) => Promise<unknown>,
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
      await run(record);
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
