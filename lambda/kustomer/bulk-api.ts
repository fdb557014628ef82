// Kustomer's bulk API as the use cases' port (core/ports.ts BulkApi): an object's bulk update sent, and
// operations read back, answered in the contract's terms. Kustomer's paths, roles and answer shapes stay
// in this folder.
import type { KustomerObject } from "../contract/objects/kustomer-object.ts";
import type { Accepted, BulkApi, ReadOperation } from "../core/ports.ts";
import type { KustomerApi } from "./client.ts";
import { readOperations } from "./status.ts";
import { bulkOperationResponse, statusOf } from "./wire.ts";

export class KustomerBulkApi implements BulkApi {
  constructor(private readonly client: KustomerApi) {}

  async update(object: KustomerObject, { ids, body }: { ids?: string; body: unknown[] }, deadlineAt: number): Promise<Accepted> {
    const { data, attempts } = await this.client.send(
      { method: "PUT", path: object.bulkPath, ...(ids === undefined ? {} : { query: { ids } }), body, role: object.role },
      bulkOperationResponse,
      deadlineAt,
    );
    return { bulkId: data.data.id, status: statusOf(data.data, "queued"), attempts };
  }

  read(bulkIds: string[], deadlineAt: number, concurrency: number): Promise<ReadOperation[]> {
    return readOperations(bulkIds, this.client, deadlineAt, concurrency);
  }
}
