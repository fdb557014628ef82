// One pipeline for every entry that answers requests: pick the trigger's adapter, check the request,
// run the use case (once per delivery, where the trigger has a key), answer in the caller's shape.
// Each deployed function's entry names the adapters it takes (handler.ts, workflow-handler.ts).
import type { Context } from "aws-lambda";
import { BulkUpdateError, contractErrorOf, errorNameOf, ValidationError } from "../contract/errors.ts";
import { KustomerError } from "../contract/kustomer-errors.ts";
import type { BulkRequest } from "../contract/requests.ts";
import { fromRecord, toRecord } from "../core/idempotent-result.ts";
import { processRequest, type RequestResult, validateRequest } from "../core/process-request.ts";
import type { TriggerAdapter } from "../events/adapter.ts";
import { KustomerBulkApi } from "../kustomer/bulk-api.ts";
import { CountedCalls } from "../kustomer/counted-calls.ts";
import { countFailure, inInvocation, logger, publishMetrics } from "../platform/observability.ts";
import { deadlineOf, type HandlerServices, RESPONSE_RESERVE_MS, servicesFor } from "./services.ts";

/** A Lambda handler over `adapters`, in order; an event none of them recognises goes to `fallback`. */
export function createEntry(adapters: TriggerAdapter[], fallback: TriggerAdapter): (event: unknown, context?: Context) => Promise<unknown> {
  return (event, context) => inInvocation(() => handle(adapters, fallback, event, context));
}

async function handle(adapters: TriggerAdapter[], fallback: TriggerAdapter, event: unknown, context?: Context): Promise<unknown> {
  const started = Date.now();
  logger.resetKeys();
  if (context) logger.addContext(context);
  const deadlineAt = deadlineOf(context, started);
  const adapter = adapters.find((candidate) => candidate.matches(event, context)) ?? fallback;
  logger.appendKeys({ trigger: adapter.trigger });

  let services: HandlerServices | undefined;
  try {
    const ready = servicesFor(process.env);
    services = ready;
    // On a cold start the secret's round trip then overlaps the validation.
    ready.client.prefetchKey();
    const callerDeadlineAt =
      adapter.callerWaitsMs === undefined ? deadlineAt : Math.min(deadlineAt, started + adapter.callerWaitsMs - RESPONSE_RESERVE_MS);
    const request = adapter.toRequest(event);
    // Checked before a key is claimed: an invalid request is a 400 with or without one.
    const valid = validateRequest(request, ready.maxItems, adapter.accepts);
    const caller = adapter.callerOf?.(event);
    const calls = new CountedCalls(ready.client);
    const run = () =>
      processRequest(valid, { ...ready, kustomer: new KustomerBulkApi(calls) }, callerDeadlineAt, {
        earlier: adapter.settledOf?.(event),
        sent: adapter.sentOf?.(event),
        caller,
      });
    // Only a command changes anything: reads are not keyed, nor read for a key. A key is the caller's
    // own: another caller's same key is another key (CONTRACT §2.4).
    const delivery = ready.idempotency && isCommand(valid) ? adapter.idempotencyKey?.(event) : undefined;
    const key = delivery && caller ? `${caller}|${delivery}` : delivery;
    const result =
      key && ready.idempotency
        ? await ready.idempotency.once(key, request, run, { deadlineAt: callerDeadlineAt, context, toRecord, fromRecord })
        : await run();
    logger.info("request done", { retries: calls.retries, ...describe(result), durationMs: Date.now() - started });
    return await adapter.toResponse(result, { event, listStore: ready.listStore });
  } catch (error) {
    // A caller's bad request is worth a warning, not an operator's attention.
    logger[error instanceof ValidationError ? "warn" : "error"]("request failed", {
      ...failureOf(error),
      durationMs: Date.now() - started,
    });
    if (!(error instanceof BulkUpdateError)) {
      // Loaded only now: it reads the build's source maps, which a cold start never needs.
      const { sourceFrames } = await import("../platform/stack-frames.ts");
      logger.error("unexpected error", { errorType: error instanceof Error ? error.name : typeof error, frames: sourceFrames(error) });
    }
    countFailure(errorNameOf(error));
    return await adapter.onError(error, { event, listStore: services?.listStore });
  } finally {
    publishMetrics();
  }
}

function isCommand(request: BulkRequest): boolean {
  return request.action === undefined || request.action === "submit";
}

/** Name, statuses and progress only: messages may quote Kustomer, and stacks help nobody in a log search. */
function failureOf(failure: unknown): Record<string, unknown> {
  const error = contractErrorOf(failure);
  return {
    error: error.name,
    httpStatus: error.httpStatus,
    retryable: error.retryable,
    kustomerStatus: error instanceof KustomerError ? error.kustomerStatus : undefined,
    issues: error instanceof ValidationError ? error.issueCount : undefined,
    acceptedBulkIds: error.progress?.acceptedBulkIds,
    unsentItems: error.progress?.unsentCustomerIds.length,
  };
}

/** Counts and ids only: a result's customers stay out of the logs. */
function describe(answer: RequestResult): Record<string, unknown> {
  const bulkIdsOf = (operations: Array<{ bulkId: string | null }>) => operations.map((operation) => operation.bulkId);
  switch (answer.kind) {
    case "submitted":
    case "dryRun":
      return {
        outcome: answer.kind,
        items: answer.result.items,
        chunks: answer.result.operations.length,
        bulkIds: bulkIdsOf(answer.result.operations),
      };
    case "status":
      return { outcome: "statusRead", chunks: answer.result.operations.length, bulkIds: bulkIdsOf(answer.result.operations) };
    case "outcome":
      return {
        outcome: "outcomeRead",
        allComplete: answer.result.allComplete,
        applied: answer.result.applied,
        failed: answer.result.failed,
      };
  }
}
