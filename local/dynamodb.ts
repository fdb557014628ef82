// A DynamoDB on this machine for the stack's tables: dynalite on 127.0.0.1 (in memory, or kept in a
// folder), behind a small front that can answer with injected faults, reached by the real SDK through
// AWS_ENDPOINT_URL_DYNAMODB. npm start and npm run job run it when IDEMPOTENCY_TABLE_NAME or
// CHANGES_TABLE_NAME is set; the tests too.
import { mkdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { type Served, serve } from "./serve.ts";

export interface LocalDynamoDb {
  url: string;
  /** DynamoDB error types to answer with, one per request, before passing requests through again. */
  faults: string[];
  /** Added before every answer, to stand in for a slow or throttled table. */
  latencyMs: number;
  stop(): Promise<void>;
}

/** `path`: a folder that keeps the tables between runs (created if missing); in memory without it. */
export async function startLocalDynamoDb(tableNames: string[], path?: string): Promise<LocalDynamoDb> {
  if (path) await mkdir(path, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const backend = (server.address() as AddressInfo).port;
  const faults: string[] = [];
  const local = { latencyMs: 0 };
  const front: Served = await serve(async (incoming, body, response) => {
    // Faults go to requests in the order they arrive, however long each then waits.
    const fault = faults.shift();
    if (local.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, local.latencyMs));
    if (fault) {
      response.writeHead(fault === "InternalServerError" ? 500 : 400, { "content-type": "application/x-amz-json-1.0" });
      response.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault}`, message: `injected ${fault}` }));
      return;
    }
    const forward = httpRequest(
      { host: "127.0.0.1", port: backend, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on("error", () => response.writeHead(502).end());
    forward.end(body);
  });
  const { CreateTableCommand, DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient({
    endpoint: front.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  // The stack's tables: partition key `id` (Powertools' default); dynalite keeps no TTL, and readers
  // check expiry themselves. A table kept from an earlier run is used as it is.
  for (const tableName of tableNames) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          ProvisionedThroughput: { ReadCapacityUnits: 1000, WriteCapacityUnits: 1000 },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== "ResourceInUseException") throw error;
    }
  }
  client.destroy();
  return {
    url: front.url,
    faults,
    get latencyMs() {
      return local.latencyMs;
    },
    set latencyMs(ms: number) {
      local.latencyMs = ms;
    },
    async stop() {
      await front.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
