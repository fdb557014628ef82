// The change ledger in DynamoDB (CONTRACT §2.7): one item per customer, keyed `customer#<id>` (another
// object's records under its own prefix, through `of`), holding
// the current hash of each field as its own attribute (`c:name`, `c:custom.tierStr`), and what was
// last sent (`pending`, with `pendingBulkId`). A field pending is never current. Reads are one
// BatchGetItem per 100 customers. Writes are one UpdateItem per customer (a PutItem for one sent whole,
// which starts its record again), a few at a time: the promotion must be conditional per customer,
// and a TransactWriteItems of 100 would be cancelled whole by one stale customer, at twice the write
// cost. The DynamoDB client is loaded on first use.
import type { PutCommand, UpdateCommand, UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import type { KustomerObject } from "../../contract/objects/kustomer-object.ts";
import { DEFAULT_OBJECT } from "../../contract/objects/registry.ts";
import type { ChangeLedger, FieldHashes, SentCustomer } from "../../core/changes.ts";
import { inPool } from "../../core/pool.ts";
import { type Commands, documentsLoader, readMany, signalFor } from "./dynamodb.ts";

/** Writes in flight at once. */
const WRITES_AT_ONCE = 16;
const CURRENT = "c:";

export class DynamoDbChangeLedger implements ChangeLedger {
  constructor(
    private readonly tableName: string,
    private readonly ttlDays: number,
    private readonly now: () => number = Date.now,
    private readonly object: KustomerObject = DEFAULT_OBJECT,
    private readonly load = documentsLoader(),
  ) {}

  of(object: KustomerObject): DynamoDbChangeLedger {
    return object.name === this.object.name ? this : new DynamoDbChangeLedger(this.tableName, this.ttlDays, this.now, object, this.load);
  }

  async current(ids: string[], deadlineAt: number): Promise<Map<string, FieldHashes>> {
    const found = new Map<string, FieldHashes>();
    for (const [id, item] of await this.read(ids, deadlineAt)) {
      // A field sent and not yet known applied is not current: what Kustomer holds of it is unknown.
      const pending = (item.pending ?? {}) as FieldHashes;
      const hashes: FieldHashes = {};
      for (const [name, value] of Object.entries(item)) {
        const field = name.slice(CURRENT.length);
        if (name.startsWith(CURRENT) && pending[field] === undefined) hashes[field] = String(value);
      }
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
    const items = await readMany(
      await this.load(),
      this.tableName,
      ids.map((id) => this.keyOf(id)),
      deadlineAt,
      this.now,
    );
    return new Map(items.map((item) => [String(item.id).slice(this.object.changesKeyPrefix.length), item]));
  }

  async pending(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void> {
    await this.each(customers, deadlineAt, ({ id, hashes, whole }, commands) =>
      // Sent whole (no current record): the record starts again, and what an expired one held goes with
      // it. Its time to live runs from here, not from the last change: a field that never changes in the
      // source is still sent again within CHANGES_TTL_DAYS, restoring an edit made in Kustomer.
      whole
        ? new commands.PutCommand({
            TableName: this.tableName,
            Item: { id: this.keyOf(id), pending: hashes, pendingBulkId: bulkId, expiration: this.expiration() },
          })
        : update(commands, this.tableName, this.keyOf(id), {
            UpdateExpression: "SET pending = :pending, pendingBulkId = :bulkId, expiration = if_not_exists(expiration, :expiration)",
            ExpressionAttributeValues: { ":pending": hashes, ":bulkId": bulkId, ":expiration": this.expiration() },
          }),
    );
  }

  async applied(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void> {
    const lost: SentCustomer[] = [];
    await this.each(
      customers,
      deadlineAt,
      ({ id, hashes }, commands) => {
        const fields = Object.keys(hashes);
        const values = Object.fromEntries(fields.map((field, index) => [`:c${index}`, hashes[field]]));
        return update(commands, this.tableName, this.keyOf(id), {
          UpdateExpression: `SET ${[...fields.map((_, index) => `#c${index} = :c${index}`), "expiration = if_not_exists(expiration, :expiration)"].join(", ")} REMOVE pending, pendingBulkId`,
          ConditionExpression: "pendingBulkId = :bulkId",
          ExpressionAttributeNames: currentNames(fields),
          ExpressionAttributeValues: { ...values, ":bulkId": bulkId, ":expiration": this.expiration() },
        });
      },
      // Another run has sent since: Kustomer may apply the two in either order, so what this one
      // sent is current no more than it was before. Its fields are sent again next time.
      (customer) => lost.push(customer),
    );
    await this.inDoubt(lost, deadlineAt, { keepPending: true });
  }

  async failed(bulkId: string, ids: string[], deadlineAt: number): Promise<void> {
    await this.each(
      ids.map((id) => ({ id, hashes: {} })),
      deadlineAt,
      ({ id }, commands) =>
        update(commands, this.tableName, this.keyOf(id), {
          UpdateExpression: "REMOVE pending, pendingBulkId",
          ConditionExpression: "pendingBulkId = :bulkId",
          ExpressionAttributeValues: { ":bulkId": bulkId },
        }),
    );
  }

  async inDoubt(customers: SentCustomer[], deadlineAt: number, { keepPending = false } = {}): Promise<void> {
    await this.each(
      customers.filter(({ hashes }) => Object.keys(hashes).length > 0),
      deadlineAt,
      ({ id, hashes }, commands) => {
        const fields = Object.keys(hashes);
        // And whatever another run has pending: its promotion could otherwise restore a hash this send
        // may have made stale.
        const removed = [...fields.map((_, index) => `#c${index}`), ...(keepPending ? [] : ["pending", "pendingBulkId"])];
        return update(commands, this.tableName, this.keyOf(id), {
          UpdateExpression: `REMOVE ${removed.join(", ")}`,
          // With no record there is nothing to drop: an UpdateItem would make an empty one that never expires.
          ConditionExpression: "attribute_exists(id)",
          ExpressionAttributeNames: currentNames(fields),
        });
      },
    );
  }

  /**
   * One write per customer, a few at a time. A condition that no longer holds (another run's record)
   * is not an error: `onLost` hears of it.
   */
  private async each(
    customers: SentCustomer[],
    deadlineAt: number,
    write: (customer: SentCustomer, commands: Commands) => UpdateCommand | PutCommand,
    onLost?: (customer: SentCustomer) => void,
  ): Promise<void> {
    if (customers.length === 0) return;
    const { documents, commands } = await this.load();
    const failure = await inPool(customers.length, WRITES_AT_ONCE, async (index) => {
      const customer = customers[index] as SentCustomer;
      try {
        await documents.send(write(customer, commands) as UpdateCommand, { abortSignal: signalFor(deadlineAt) });
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
        onLost?.(customer);
      }
    });
    if (failure) throw failure.error;
  }

  private keyOf(id: string): string {
    return `${this.object.changesKeyPrefix}${id.toLowerCase()}`;
  }

  private expiration(): number {
    return Math.floor(this.now() / 1000) + this.ttlDays * 86_400;
  }
}

function update(
  commands: Commands,
  tableName: string,
  key: string,
  expression: Omit<UpdateCommandInput, "TableName" | "Key">,
): UpdateCommand {
  return new commands.UpdateCommand({ TableName: tableName, Key: { id: key }, ...expression });
}

/** `#c0`, `#c1`, ... for the fields' current-hash attributes (`c:name`, `c:custom.tierStr`). */
const currentNames = (fields: string[]) => Object.fromEntries(fields.map((field, index) => [`#c${index}`, `${CURRENT}${field}`]));
