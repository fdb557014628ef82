// The Lambda entry point, wiring only: pick the trigger's adapter, run the use case, answer in the
// caller's shape. Everything built here lives for the execution environment (warm invocations).
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadConfig, type Config } from "./config.ts";
import { SqsDeadLetterQueue } from "./dead-letter.ts";
import { BulkUpdateError, ValidationError } from "./errors.ts";
import type { TriggerAdapter } from "./events/adapter.ts";
import { directAdapter } from "./events/direct.ts";
import { eventBridgeAdapter } from "./events/eventbridge.ts";
import { httpAdapter } from "./events/http.ts";
import { mapBatchAdapter } from "./events/map-batch.ts";
import { isSqsEvent, processSqsBatch } from "./events/sqs.ts";
import { KustomerClient } from "./kustomer/client.ts";
import { countFailure, counters, logger, publishMetrics } from "./observability.ts";
import { processRequest, type Services } from "./process-request.ts";
import { SecretsManagerKeyProvider, StaticApiKeyProvider, type ApiKeyProvider } from "./secrets.ts";

const adapters: TriggerAdapter[] = [httpAdapter, eventBridgeAdapter, mapBatchAdapter, directAdapter];

/** Time kept back from the invocation's deadline to log and answer after the last Kustomer call. */
const RESPONSE_RESERVE_MS = 500;
/** Outside Lambda (local runs) there is no context: allow Lambda's own maximum. */
const DEFAULT_REMAINING_MS = 15 * 60 * 1000;

let cachedServices: Services | undefined;

function keyProviderFor(config: Config): ApiKeyProvider {
  const source = config.apiKeySource;
  if (source.kind === "environment") return new StaticApiKeyProvider(source.apiKey);
  return new SecretsManagerKeyProvider({
    client: new SecretsManagerClient({}),
    secretId: source.secretId,
    field: source.field,
    ttlMs: config.secretTtlMs,
  });
}

/** Built on first use, not at import, so a bad configuration is a named error rather than an init crash. */
function servicesFor(environment: Record<string, string | undefined>): Services {
  if (cachedServices) return cachedServices;
  const config = loadConfig(environment);
  const client = new KustomerClient({
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    rateLimitHeadroom: config.rateLimitHeadroom,
    keys: keyProviderFor(config),
    log: logger,
    counters,
  });
  cachedServices = {
    config,
    client,
    log: logger,
    counters,
    concurrency: config.concurrency,
    deadLetters: config.deadLetterQueueUrl ? new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl) : undefined,
  };
  return cachedServices;
}

export async function handler(event: unknown, context?: Context): Promise<unknown> {
  const started = Date.now();
  logger.resetKeys();
  if (context) logger.addContext(context);
  const remainingMs = context?.getRemainingTimeInMillis() ?? DEFAULT_REMAINING_MS;
  const deadlineAt = started + remainingMs - RESPONSE_RESERVE_MS;
  if (isSqsEvent(event)) return handleSqsBatch(event, deadlineAt, started);

  const adapter = adapters.find((candidate) => candidate.matches(event)) ?? directAdapter;
  logger.appendKeys({ trigger: adapter.trigger });

  try {
    const services = servicesFor(process.env);
    // On a cold start the secret's round trip then overlaps the validation.
    services.client.prefetchKey();
    const retriesBefore = services.client.retries;
    const callerDeadlineAt = adapter.callerWaitsMs === undefined ? deadlineAt : Math.min(deadlineAt, started + adapter.callerWaitsMs - RESPONSE_RESERVE_MS);
    const result = await processRequest(adapter.toRequest(event), services, callerDeadlineAt);
    logger.info("request done", {
      retries: services.client.retries - retriesBefore,
      outcome: "status" in result ? result.status : "statusRead",
      items: "items" in result ? result.items : undefined,
      chunks: result.operations.length,
      bulkIds: result.operations.map((operation) => operation.bulkId),
      durationMs: Date.now() - started,
    });
    return adapter.toResponse(result);
  } catch (error) {
    // Name, status and progress only: messages may quote Kustomer, and stacks help nobody in a log search.
    const known = error instanceof BulkUpdateError;
    // A caller's bad request is worth a warning, not an operator's attention.
    logger[error instanceof ValidationError ? "warn" : "error"]("request failed", {
      error: known ? error.name : "UnexpectedError",
      httpStatus: known ? error.httpStatus : 500,
      retryable: known ? error.retryable : false,
      kustomerStatus: known && "kustomerStatus" in error ? error.kustomerStatus : undefined,
      issues: error instanceof ValidationError ? error.issueCount : undefined,
      acceptedBulkIds: known ? error.progress?.acceptedBulkIds : undefined,
      unsentItems: known ? error.progress?.unsentCustomerIds.length : undefined,
      durationMs: Date.now() - started,
    });
    if (!known) logger.error("unexpected error", { errorType: error instanceof Error ? error.name : typeof error });
    countFailure(known ? error.name : "UnexpectedError");
    return adapter.onError(error);
  } finally {
    publishMetrics();
  }
}

/** A batch of commands from the queue: failures are per record, so the batch itself does not throw. */
async function handleSqsBatch(event: SQSEvent, deadlineAt: number, started: number): Promise<SQSBatchResponse> {
  logger.appendKeys({ trigger: "sqs" });
  try {
    // A bad configuration fails the whole batch: every record comes back, and none is lost.
    const services = servicesFor(process.env);
    services.client.prefetchKey();
    const response = await processSqsBatch(
      event,
      async (request) => {
        try {
          return await processRequest(request, services, deadlineAt);
        } catch (error) {
          countFailure(error instanceof BulkUpdateError ? error.name : "UnexpectedError");
          throw error;
        }
      },
      services.deadLetters,
      deadlineAt,
      logger,
    );
    logger.info("batch done", { records: event.Records.length, retried: response.batchItemFailures.length, durationMs: Date.now() - started });
    return response;
  } finally {
    publishMetrics();
  }
}
