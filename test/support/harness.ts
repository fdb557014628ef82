// Starts a fake Kustomer, Secrets Manager and S3, points the environment at them, and loads a fresh
// copy of the real handler (so module-level caches start cold), capturing everything it logs.

import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { vi } from "vitest";
import { CONFIG_VARIABLES } from "../../lambda/platform/config.ts";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local/dynamodb.ts";
import { lambdaContext as gatewayContext } from "../../local/gateway.ts";
import { KustomerSandbox, type SandboxOptions } from "../../local/kustomer-sandbox.ts";
import { routeAsTheStack } from "../../local/stack-wiring.ts";
import { FakeS3 } from "./fake-s3.ts";
import { FakeSecretsManager } from "./fake-secrets-manager.ts";
import { API_KEY, SECRET_ID } from "./fixtures.ts";
import { scanOutput } from "./output-scan.ts";

/** The function's HTTP answers always carry their headers (content type, Retry-After). */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface World {
  kustomer: KustomerSandbox;
  /** Moves the sandbox's clock on, so its bulk operations progress without waiting. */
  advance(ms: number): void;
  secrets: FakeSecretsManager;
  /** The job bucket and the outcome lists. */
  s3: FakeS3;
  /**
   * The real handlers, as the stack wires them: an SQS batch reaches the queue's consumer, a workflow
   * task (by its client context) the workflow's function, anything else the bulk-update function.
   */
  handler: (event: unknown, context?: Context) => Promise<unknown>;
  /** The bulk-update function's entry alone, whatever the event. */
  serviceHandler: (event: unknown, context?: Context) => Promise<unknown>;
  /** The handler on an API Gateway event: what it answers to HTTP callers. */
  http: (event: unknown, context?: Context) => Promise<HttpAnswer>;
  /** The handler on any other event, whose answer the test names: a submit result, a batch response... */
  invoke: <T>(event: unknown, context?: Context) => Promise<T>;
  /** Every line written to stdout and stderr since the world started. */
  logs: string[];
  stop(): Promise<void>;
}

/** A Lambda context with this much time left (the local gateway's, so there is one of them). */
export function lambdaContext(remainingMs = 30_000): Context {
  return gatewayContext(`req-${randomUUID()}`, remainingMs);
}

export async function startWorld(environment: Record<string, string> = {}, sandbox: SandboxOptions = {}): Promise<World> {
  let offset = 0;
  const kustomer = new KustomerSandbox({ apiKey: API_KEY, applyAfterMs: 1_000, now: () => Date.now() + offset, ...sandbox });
  const secrets = new FakeSecretsManager();
  secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: API_KEY }));
  const s3 = new FakeS3();
  const [kustomerUrl, secretsUrl, s3Url] = await Promise.all([kustomer.start(), secrets.start(), s3.start()]);

  for (const name of CONFIG_VARIABLES) delete process.env[name];
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "test-secret-access-key",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
    AWS_ENDPOINT_URL_S3: s3Url,
    KUSTOMER_SECRET_ID: SECRET_ID,
    KUSTOMER_BASE_URL: kustomerUrl,
    ...environment,
  });

  const logs: string[] = [];
  const capture = (chunk: unknown) => {
    logs.push(String(chunk));
    scanOutput(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(capture);

  vi.resetModules();
  const { handler: serviceHandler } = await import("../../lambda/handler.ts");
  const { handler: workflowHandler } = await import("../../lambda/workflow-handler.ts");
  const { handler: queueHandler } = await import("../../lambda/queue-handler.ts");
  const handler = routeAsTheStack({ service: serviceHandler, workflow: workflowHandler, queue: queueHandler });

  return {
    kustomer,
    advance: (ms) => {
      offset += ms;
    },
    secrets,
    s3,
    handler,
    serviceHandler,
    http: (event, context) => handler(event, context) as Promise<HttpAnswer>,
    invoke: <T>(event: unknown, context?: Context) => handler(event, context) as Promise<T>,
    logs,
    async stop() {
      stdout.mockRestore();
      stderr.mockRestore();
      await Promise.all([kustomer.stop(), secrets.stop(), s3.stop()]);
    },
  };
}

/** A world whose functions keep their tables in a local DynamoDB (dynalite), reached by the real SDK. */
export type WorldWithTables = World & { dynamodb: LocalDynamoDb };

/** The world, with `tables` made in dynalite and AWS_ENDPOINT_URL_DYNAMODB pointing at it until it stops. */
export async function startWorldWithTables(tables: string[], environment: Record<string, string> = {}): Promise<WorldWithTables> {
  const dynamodb = await startLocalDynamoDb(tables);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.url;
  const world = await startWorld(environment);
  return {
    ...world,
    dynamodb,
    async stop() {
      await world.stop();
      await dynamodb.stop();
      delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    },
  };
}

/** Fails if any captured log line holds the API key or a customer's personal data. */
export function findLeaks(logs: string[], sensitive: Array<string | RegExp>): string[] {
  return logs.filter((line) => sensitive.some((pattern) => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line))));
}
