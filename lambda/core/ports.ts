// The ports the use cases reach their outlets through, beside the Kustomer API's (kustomer/client.ts)
// and the change ledger (changes.ts); each is implemented in adapters/aws/.

/** Which caller received which bulk ids (the idempotency table, adapters/aws/bulk-records.ts). */
export interface BulkRecord {
  caller: string;
  /** When the submit was accepted (epoch ms). */
  recordedAt: number;
  customerIds: string[];
}

export interface BulkRecords {
  record(caller: string, operations: Array<{ bulkId: string; customerIds: string[] }>, deadlineAt: number): Promise<void>;
  /** The records of those of `bulkIds` that have one. */
  find(bulkIds: string[], deadlineAt: number): Promise<Map<string, BulkRecord>>;
}

/** Where a list too long for an event is kept whole (the job bucket, adapters/aws/list-store.ts). */
export interface ListStore {
  /** Stores the list under a new name ending in `-<what>.json`, and answers its s3:// location. */
  put(what: string, list: unknown[]): Promise<string>;
}
