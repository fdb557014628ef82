// What the service's DynamoDB adapters share: the document client, loaded on first use so a cold
// start never pays for it, and reads of many keys bounded by the invocation's deadline, expired
// records left out (DynamoDB deletes them within days, not at once).
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export type Commands = typeof import("@aws-sdk/lib-dynamodb");

export interface Documents {
  documents: DynamoDBDocumentClient;
  commands: Commands;
}

/** DynamoDB's limit for one BatchGetItem. */
const READ_BATCH = 100;

/** A loader of one document client, made on its first call and shared by later ones. */
export function documentsLoader(): () => Promise<Documents> {
  let client: Promise<Documents> | undefined;
  return () => {
    client ??= Promise.all([import("@aws-sdk/client-dynamodb"), import("@aws-sdk/lib-dynamodb")]).then(
      ([{ DynamoDBClient }, commands]) => ({ documents: commands.DynamoDBDocumentClient.from(new DynamoDBClient({})), commands }),
    );
    return client;
  };
}

/** The items of those keys (partition key `id`) that exist and have not expired, 100 a read, unprocessed keys read again. */
export async function readMany(
  { documents, commands }: Documents,
  tableName: string,
  ids: string[],
  deadlineAt: number,
  now: () => number = Date.now,
): Promise<Array<Record<string, unknown>>> {
  const found: Array<Record<string, unknown>> = [];
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += READ_BATCH) {
    let keys: Array<Record<string, unknown>> = unique.slice(start, start + READ_BATCH).map((id) => ({ id }));
    while (keys.length > 0) {
      const { Responses, UnprocessedKeys } = await documents.send(
        new commands.BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys } } }),
        { abortSignal: signalFor(deadlineAt) },
      );
      for (const item of Responses?.[tableName] ?? []) {
        if (typeof item.expiration === "number" && item.expiration * 1000 < now()) continue;
        found.push(item);
      }
      keys = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}

/** Aborts a table call at the invocation's deadline. */
export function signalFor(deadlineAt: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, deadlineAt - Date.now()));
}
