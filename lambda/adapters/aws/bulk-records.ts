// Which caller received which bulk ids, kept in the stack's table beside the idempotency records
// (CONTRACT §2.3, §2.6): recorded when an HTTP submit is accepted, so that a status read of a recorded
// id Kustomer does not know yet is pending rather than a 404, and so that a caller reads only the
// operations it submitted. The DynamoDB client is loaded on first use.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { IdempotencyUnavailableError } from "../../contract/errors.ts";
import { BULK_RECORD_KEY_PREFIX } from "../../contract/names.ts";
import type { BulkRecord, BulkRecords } from "../../core/ports.ts";

/** How long a bulk id stays readable by its caller. */
export const BULK_RECORD_TTL_SECONDS = 30 * 24 * 60 * 60;
/** DynamoDB's limits for one BatchWriteItem and one BatchGetItem. */
const WRITE_BATCH = 25;
const READ_BATCH = 100;

export class DynamoDbBulkRecords implements BulkRecords {
  private client?: Promise<{ documents: DynamoDBDocumentClient; commands: typeof import("@aws-sdk/lib-dynamodb") }>;

  constructor(private readonly tableName: string) {}

  private load() {
    this.client ??= Promise.all([import("@aws-sdk/client-dynamodb"), import("@aws-sdk/lib-dynamodb")]).then(
      ([{ DynamoDBClient }, commands]) => ({
        documents: commands.DynamoDBDocumentClient.from(new DynamoDBClient({})),
        commands,
      }),
    );
    return this.client;
  }

  async record(caller: string, operations: Array<{ bulkId: string; customerIds: string[] }>, deadlineAt: number): Promise<void> {
    const { documents, commands } = await this.load();
    const recordedAt = Date.now();
    const expiration = Math.floor(recordedAt / 1000) + BULK_RECORD_TTL_SECONDS;
    for (let start = 0; start < operations.length; start += WRITE_BATCH) {
      let writes = operations.slice(start, start + WRITE_BATCH).map(({ bulkId, customerIds }) => ({
        PutRequest: { Item: { id: `${BULK_RECORD_KEY_PREFIX}${bulkId}`, caller, recordedAt, customerIds, expiration } },
      }));
      // DynamoDB may leave some of a batch unprocessed: those are written again, within the deadline.
      while (writes.length > 0) {
        const { UnprocessedItems } = await documents.send(new commands.BatchWriteCommand({ RequestItems: { [this.tableName]: writes } }), {
          abortSignal: signalFor(deadlineAt),
        });
        writes = (UnprocessedItems?.[this.tableName] ?? []) as typeof writes;
      }
    }
  }

  async find(bulkIds: string[], deadlineAt: number): Promise<Map<string, BulkRecord>> {
    const { documents, commands } = await this.load();
    const found = new Map<string, BulkRecord>();
    try {
      for (let start = 0; start < bulkIds.length; start += READ_BATCH) {
        let keys: Array<Record<string, unknown>> = [...new Set(bulkIds.slice(start, start + READ_BATCH))].map((bulkId) => ({
          id: `${BULK_RECORD_KEY_PREFIX}${bulkId}`,
        }));
        while (keys.length > 0) {
          const { Responses, UnprocessedKeys } = await documents.send(
            new commands.BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
            { abortSignal: signalFor(deadlineAt) },
          );
          for (const item of Responses?.[this.tableName] ?? []) {
            // DynamoDB deletes expired items within days, not at once.
            if (typeof item.expiration === "number" && item.expiration * 1000 < Date.now()) continue;
            found.set(String(item.id).slice(BULK_RECORD_KEY_PREFIX.length), {
              caller: String(item.caller),
              recordedAt: Number(item.recordedAt),
              customerIds: item.customerIds as string[],
            });
          }
          keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        }
      }
    } catch (error) {
      throw new IdempotencyUnavailableError(`the service's table could not be read (${(error as Error).name}); reading again is safe`, {
        cause: error,
      });
    }
    return found;
  }
}

function signalFor(deadlineAt: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, deadlineAt - Date.now()));
}
