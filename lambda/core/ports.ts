// The ports the use cases reach their outlets through, beside the change ledger (changes.ts): Kustomer's
// bulk API (kustomer/bulk-api.ts), the stack's table and bucket (adapters/aws/), and the logs and
// metrics (platform/observability.ts).
import type { METRIC_NAMES } from "../contract/names.ts";
import type { KustomerObject } from "../contract/objects/kustomer-object.ts";
import type { OperationStatus } from "../contract/results.ts";

/** A request Kustomer accepted: its bulk operation, and how many attempts it took. */
export interface Accepted {
  bulkId: string;
  status: string;
  attempts: number;
}

/** An operation as read back: its status, and how many of its customers it accounts for as applied and failed (once complete). */
export interface ReadOperation {
  status: OperationStatus;
  applied: number;
  failed: number;
  /** The customers Kustomer names as the operation's, once complete. */
  customerIds?: string[];
}

/**
 * Kustomer's bulk API, in the use cases' terms. Its failures are the contract's named errors; one that
 * may have reached Kustomer says so (`inDoubt`), and an id Kustomer does not know reads NOT_FOUND.
 */
export interface BulkApi {
  /** One request of at most 100 updates of `object` (with `ids`, one update for each of them). */
  update(object: KustomerObject, request: { ids?: string; body: unknown[] }, deadlineAt: number): Promise<Accepted>;
  /** Operations read back, `concurrency` at a time; the first failure stops the rest. */
  read(bulkIds: string[], deadlineAt: number, concurrency: number): Promise<ReadOperation[]>;
}

/** Readings rather than counts: the org's budget left at each answer, and time held back for headroom. */
export type Observation = "RateLimitRemaining" | "HeadroomWaitMs";
export type MetricName = Exclude<(typeof METRIC_NAMES)[number], "Failures" | Observation>;

/** What the domain counts, without knowing how it is published. */
export interface Counters {
  count(name: MetricName, value?: number): void;
  observe(name: Observation, value: number): void;
}

/** What the use cases log: a message with counts, ids and statuses, never a customer's data. */
export interface Log {
  debug(message: string, ...attributes: Array<Record<string, unknown>>): void;
  info(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
  error(message: string, ...attributes: Array<Record<string, unknown>>): void;
}

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
