// Which caller received which bulk ids, kept in the stack's table beside the idempotency records
// (CONTRACT §2.3, §2.6): recorded when an HTTP submit is accepted, so that a status read of a recorded
// id Kustomer does not know yet is pending rather than a 404, and so that a caller reads only the
// operations it submitted. The DynamoDB client is loaded on first use.
import { IdempotencyUnavailableError } from "../../contract/errors.ts";
import { BULK_RECORD_KEY_PREFIX } from "../../contract/names.ts";
import type { BulkRecord, BulkRecords } from "../../core/ports.ts";
import { documentsLoader, readMany, signalFor } from "./dynamodb.ts";

/** How long a bulk id stays readable by its caller. */
export const BULK_RECORD_TTL_SECONDS = 30 * 24 * 60 * 60;
/** DynamoDB's limit for one BatchWriteItem. */
const WRITE_BATCH = 25;

export class DynamoDbBulkRecords implements BulkRecords {
  constructor(private readonly tableName: string) {}

  private readonly load = documentsLoader();

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
    const found = new Map<string, BulkRecord>();
    try {
      const keys = bulkIds.map((bulkId) => `${BULK_RECORD_KEY_PREFIX}${bulkId}`);
      for (const item of await readMany(await this.load(), this.tableName, keys, deadlineAt)) {
        found.set(String(item.id).slice(BULK_RECORD_KEY_PREFIX.length), {
          caller: String(item.caller),
          recordedAt: Number(item.recordedAt),
          customerIds: item.customerIds as string[],
        });
      }
    } catch (error) {
      throw new IdempotencyUnavailableError(`the service's table could not be read (${(error as Error).name}); reading again is safe`, {
        cause: error,
      });
    }
    return found;
  }
}
