// What `npm start` and `npm run invoke` share: the embedded Kustomer sandbox (unless KUSTOMER_BASE_URL
// points elsewhere) and the environment the handler reads, with defaults that need no AWS account.

import type { LocalDynamoDb } from "./dynamodb.ts";
import { KustomerSandbox, SANDBOX_API_KEY, type SandboxOptions } from "./kustomer-sandbox.ts";
import { routeAsTheStack } from "./stack-wiring.ts";

export interface LocalEnvironment {
  sandbox?: KustomerSandbox;
  sandboxUrl?: string;
  /** With IDEMPOTENCY_TABLE_NAME set: the embedded DynamoDB holding that table. */
  dynamodbUrl?: string;
  stop(): Promise<void>;
}

function number(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number, not "${value}"`);
  return parsed;
}

/** The stack's function timeout, so a local run has the time a deployed one has. */
export const FUNCTION_TIMEOUT_MS = 300_000;

/**
 * The real handler, as Lambda runs it (on-demand, so its first invocation is a cold start), and by
 * default quiet for a person at a terminal: warnings and errors, no metric blobs. Powertools reads
 * its settings on import, hence the import after them.
 */
export async function loadQuietHandler(logLevel = "WARN") {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE ??= "on-demand";
  process.env.POWERTOOLS_LOG_LEVEL ??= logLevel;
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const [{ handler }, { handler: workflowHandler }, { handler: queueHandler }] = await Promise.all([
    import("../lambda/handler.ts"),
    import("../lambda/workflow-handler.ts"),
    import("../lambda/queue-handler.ts"),
  ]);
  return routeAsTheStack({ service: handler, workflow: workflowHandler, queue: queueHandler });
}

/** A command-line failure: one line, no stack trace, and the exit code. */
export function fail(line: string, exitCode = 1): never {
  console.error(line);
  process.exit(exitCode);
}

export async function prepareLocalEnvironment(options: {
  sandboxPort: number;
  onSandboxRequest?: SandboxOptions["onRequest"];
}): Promise<LocalEnvironment> {
  let sandbox: KustomerSandbox | undefined;
  let sandboxUrl: string | undefined;
  if (!process.env.KUSTOMER_BASE_URL) {
    sandbox = new KustomerSandbox({
      rateLimitPerMinute: number("SANDBOX_RATE_LIMIT", 1000),
      rateLimitWindowMs: number("SANDBOX_RATE_WINDOW_MS", 60_000),
      latencyMs: number("SANDBOX_LATENCY_MS", 0),
      applyAfterMs: number("SANDBOX_APPLY_AFTER_MS", 1000),
      // Your customers' ids are not in the sandbox: it makes each on its first update, unless told to
      // fail unknown ids as Kustomer does.
      knowsEveryCustomer: process.env.SANDBOX_CUSTOMERS !== "seeded",
      // A long-running local server must not keep every request in memory.
      record: false,
      onRequest: options.onSandboxRequest,
    });
    sandboxUrl = await sandbox.start(options.sandboxPort);
    process.env.KUSTOMER_BASE_URL = sandboxUrl;
  }
  // Locally the key comes from the environment; with KUSTOMER_SECRET_ID set it comes from Secrets Manager.
  if (!process.env.KUSTOMER_SECRET_ID && !process.env.KUSTOMER_API_KEY) process.env.KUSTOMER_API_KEY = SANDBOX_API_KEY;
  // Idempotency or changes on, with no DynamoDB named: an embedded one (dynalite), so it can be tried
  // with curl. The changes table is kept in .local/ between runs, so a second run can show what it saves.
  const tableNames = [process.env.IDEMPOTENCY_TABLE_NAME, process.env.CHANGES_TABLE_NAME].filter((name): name is string => Boolean(name));
  let dynamodb: LocalDynamoDb | undefined;
  if (tableNames.length > 0 && !process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    const { startLocalDynamoDb } = await import("./dynamodb.ts");
    dynamodb = await startLocalDynamoDb(
      tableNames,
      process.env.CHANGES_TABLE_NAME ? (process.env.LOCAL_STATE_DIR ?? ".local/dynamodb") : undefined,
    );
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url, AWS_REGION: process.env.AWS_REGION ?? "us-east-1" });
    // The SDK signs every request, even to this machine: any credentials do.
    process.env.AWS_ACCESS_KEY_ID ??= "local";
    process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  }
  return {
    sandbox,
    sandboxUrl,
    dynamodbUrl: dynamodb?.url,
    stop: async () => {
      await Promise.all([sandbox?.stop(), dynamodb?.stop()]);
    },
  };
}
