// What the entry points share, built once per execution environment (warm invocations reuse it): the
// configuration, the Kustomer client with its key provider, and the optional outlets the stack wires.
import type { Context } from "aws-lambda";
import { DynamoDbBulkRecords } from "../adapters/aws/bulk-records.ts";
import { DynamoDbChangeLedger } from "../adapters/aws/changes-table.ts";
import { type DeadLetterQueue, SqsDeadLetterQueue } from "../adapters/aws/dead-letter.ts";
import { DynamoDbIdempotency, type Idempotency } from "../adapters/aws/idempotency.ts";
import { S3ListStore } from "../adapters/aws/list-store.ts";
import { type ApiKeyProvider, SecretsManagerKeyProvider, StaticApiKeyProvider } from "../adapters/aws/secrets.ts";
import { StepFunctionsStarter, type WorkflowStarter } from "../adapters/aws/workflow-starter.ts";
import type { Services } from "../core/process-request.ts";
import { KustomerBulkApi } from "../kustomer/bulk-api.ts";
import { KustomerClient } from "../kustomer/client.ts";
import { type Config, loadConfig } from "../platform/config.ts";
import { counters, logger } from "../platform/observability.ts";

/** Time kept back from the invocation's deadline to log and answer after the last Kustomer call. */
export const RESPONSE_RESERVE_MS = 500;
/** Outside Lambda (local runs) there is no context: allow Lambda's own maximum. */
const DEFAULT_REMAINING_MS = 15 * 60 * 1000;

/** Beyond the use case's: the entries warm the key up; the queue's consumer dead-letters and starts workflows. */
export type HandlerServices = Services & {
  client: KustomerClient;
  deadLetters?: DeadLetterQueue;
  workflow?: WorkflowStarter;
  idempotency?: Idempotency;
  /** How long a recorded bulk id may read 404 before its customers are in doubt. */
  notFoundGraceMs: number;
};

let cachedServices: HandlerServices | undefined;

export function deadlineOf(context: Context | undefined, started: number): number {
  return started + (context?.getRemainingTimeInMillis() ?? DEFAULT_REMAINING_MS) - RESPONSE_RESERVE_MS;
}

function keyProviderFor(config: Config): ApiKeyProvider {
  const source = config.apiKeySource;
  if (source.kind === "environment") return new StaticApiKeyProvider(source.apiKey);
  return new SecretsManagerKeyProvider({
    client: async () => new (await import("@aws-sdk/client-secrets-manager")).SecretsManagerClient({}),
    secretId: source.secretId,
    field: source.field,
    ttlMs: config.secretTtlMs,
    ...(source.extensionPort ? { extension: { port: source.extensionPort, token: () => process.env.AWS_SESSION_TOKEN } } : {}),
  });
}

/** Built on first use, not at import, so a bad configuration is a named error rather than an init crash. */
export function servicesFor(environment: Record<string, string | undefined>): HandlerServices {
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
    maxItems: config.maxItems,
    client,
    kustomer: new KustomerBulkApi(client),
    log: logger,
    counters,
    concurrency: config.concurrency,
    notFoundGraceMs: config.notFoundGraceMs,
    deadLetters: config.deadLetterQueueUrl ? new SqsDeadLetterQueue(config.deadLetterQueueUrl) : undefined,
    listStore: config.resultsBucketName ? new S3ListStore(config.resultsBucketName) : undefined,
    workflow: config.workflowStateMachineArn ? new StepFunctionsStarter(config.workflowStateMachineArn) : undefined,
    idempotency: config.idempotency ? new DynamoDbIdempotency(config.idempotency.tableName, config.idempotency.ttlSeconds) : undefined,
    // The same table keeps which caller received which bulk ids.
    bulkRecords: config.idempotency ? new DynamoDbBulkRecords(config.idempotency.tableName) : undefined,
    changes: config.changes ? new DynamoDbChangeLedger(config.changes.tableName, config.changes.ttlDays) : undefined,
  };
  return cachedServices;
}
