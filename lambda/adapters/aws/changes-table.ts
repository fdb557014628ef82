// The change ledger in DynamoDB (CONTRACT §2.7): one item per customer, keyed `customer#<id>`, holding
// the current hash of each field as its own attribute (`c:name`, `c:custom.tierStr`), and what was
// last sent (`pending`, with `pendingBulkId`). Reads are one BatchGetItem per 100 customers. Writes
// are one UpdateItem per customer, a few at a time: the promotion must be conditional per customer,
// and a TransactWriteItems of 100 would be cancelled whole by one stale customer, at twice the
// write cost. The DynamoDB client is loaded on first use.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CHANGES_KEY_PREFIX } from "../../contract/names.ts";
import type { ChangeLedger, FieldHashes, SentCustomer } from "../../core/changes.ts";
import { inPool } from "../../core/pool.ts";

/** DynamoDB's limit for one BatchGetItem. */
const READ_BATCH = 100;
/** Writes in flight at once. */
const WRITES_AT_ONCE = 16;
const CURRENT = "c:";

export class DynamoDbChangeLedger implements ChangeLedger {
  private client?: Promise<{ documents: DynamoDBDocumentClient; commands: typeof import("@aws-sdk/lib-dynamodb") }>;

  constructor(
    private readonly tableName: string,
    private readonly ttlDays: number,
    private readonly now: () => number = Date.now,
  ) {}

  private load() {
    this.client ??= Promise.all([import("@aws-sdk/client-dynamodb"), import("@aws-sdk/lib-dynamodb")]).then(
      ([{ DynamoDBClient }, commands]) => ({
        documents: commands.DynamoDBDocumentClient.from(new DynamoDBClient({})),
        commands,
      }),
    );
    return this.client;
  }

  async current(ids: string[], deadlineAt: number): Promise<Map<string, FieldHashes>> {
    const found = new Map<string, FieldHashes>();
    for (const [id, item] of await this.read(ids, deadlineAt)) {
      const hashes: FieldHashes = {};
      for (const [name, value] of Object.entries(item)) if (name.startsWith(CURRENT)) hashes[name.slice(CURRENT.length)] = String(value);
      found.set(id, hashes);
    }
    return found;
  }

  async pendingOf(ids: string[], deadlineAt: number): Promise<Map<string, { bulkId: string; hashes: FieldHashes }>> {
    const found = new Map<string, { bulkId: string; hashes: FieldHashes }>();
    for (const [id, item] of await this.read(ids, deadlineAt)) {
      if (typeof item.pendingBulkId === "string")
        found.set(id, { bulkId: item.pendingBulkId, hashes: (item.pending ?? {}) as FieldHashes });
    }
    return found;
  }

  /** Each customer's record, by lower-case id; expired ones are absent. */
  private async read(ids: string[], deadlineAt: number): Promise<Map<string, Record<string, unknown>>> {
    const { documents, commands } = await this.load();
    const found = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
    for (let start = 0; start < unique.length; start += READ_BATCH) {
      let keys: Array<Record<string, unknown>> = unique.slice(start, start + READ_BATCH).map((id) => ({ id: keyOf(id) }));
      while (keys.length > 0) {
        const { Responses, UnprocessedKeys } = await documents.send(
          new commands.BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
          { abortSignal: signalFor(deadlineAt) },
        );
        for (const item of Responses?.[this.tableName] ?? []) {
          // DynamoDB deletes expired items within days, not at once.
          if (typeof item.expiration === "number" && item.expiration * 1000 < this.now()) continue;
          found.set(String(item.id).slice(CHANGES_KEY_PREFIX.length), item);
        }
        keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  async pending(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void> {
    // A record's time to live runs from its last whole send, not its last change: a field that never
    // changes in the source is still sent again within CHANGES_TTL_DAYS, restoring an edit in Kustomer.
    await this.each(customers, deadlineAt, ({ id, hashes, whole }) => ({
      UpdateExpression: `SET pending = :pending, pendingBulkId = :bulkId, expiration = ${whole ? ":expiration" : "if_not_exists(expiration, :expiration)"}`,
      ExpressionAttributeValues: { ":pending": hashes, ":bulkId": bulkId, ":expiration": this.expiration() },
      key: id,
    }));
  }

  async applied(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void> {
    await this.each(customers, deadlineAt, ({ id, hashes }) => {
      const fields = Object.keys(hashes);
      const names = Object.fromEntries(fields.map((field, index) => [`#c${index}`, `${CURRENT}${field}`]));
      const values = Object.fromEntries(fields.map((field, index) => [`:c${index}`, hashes[field]]));
      return {
        UpdateExpression: `SET ${[...fields.map((_, index) => `#c${index} = :c${index}`), "expiration = if_not_exists(expiration, :expiration)"].join(", ")} REMOVE pending, pendingBulkId`,
        ConditionExpression: "pendingBulkId = :bulkId",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ":bulkId": bulkId, ":expiration": this.expiration() },
        key: id,
      };
    });
  }

  async failed(bulkId: string, ids: string[], deadlineAt: number): Promise<void> {
    await this.each(
      ids.map((id) => ({ id, hashes: {} })),
      deadlineAt,
      ({ id }) => ({
        UpdateExpression: "REMOVE pending, pendingBulkId",
        ConditionExpression: "pendingBulkId = :bulkId",
        ExpressionAttributeValues: { ":bulkId": bulkId },
        key: id,
      }),
    );
  }

  async inDoubt(customers: SentCustomer[], deadlineAt: number): Promise<void> {
    await this.each(
      customers.filter(({ hashes }) => Object.keys(hashes).length > 0),
      deadlineAt,
      ({ id, hashes }) => {
        const fields = Object.keys(hashes);
        return {
          // And whatever another run has pending: its promotion could otherwise restore a hash this
          // send may have made stale.
          UpdateExpression: `REMOVE ${[...fields.map((_, index) => `#c${index}`), "pending", "pendingBulkId"].join(", ")}`,
          ExpressionAttributeNames: Object.fromEntries(fields.map((field, index) => [`#c${index}`, `${CURRENT}${field}`])),
          key: id,
        };
      },
    );
  }

  /** One conditional update per customer; a condition that no longer holds (another run's record) is not an error. */
  private async each(
    customers: SentCustomer[],
    deadlineAt: number,
    update: (customer: SentCustomer) => {
      UpdateExpression: string;
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
      key: string;
    },
  ): Promise<void> {
    if (customers.length === 0) return;
    const { documents, commands } = await this.load();
    const failure = await inPool(customers.length, WRITES_AT_ONCE, async (index) => {
      const { key, ...expression } = update(customers[index] as SentCustomer);
      try {
        await documents.send(new commands.UpdateCommand({ TableName: this.tableName, Key: { id: keyOf(key) }, ...expression }), {
          abortSignal: signalFor(deadlineAt),
        });
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
      }
    });
    if (failure) throw failure.error;
  }

  private expiration(): number {
    return Math.floor(this.now() / 1000) + this.ttlDays * 86_400;
  }
}

const keyOf = (id: string) => `${CHANGES_KEY_PREFIX}${id.toLowerCase()}`;

function signalFor(deadlineAt: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, deadlineAt - Date.now()));
}
