// Reading bulk operations back (CONTRACT §2.3): Kustomer's account of each one. For an HTTP caller,
// with the stack's table, only the operations it submitted are read, and a recorded id Kustomer does
// not know yet is `pending` for the grace, then its customers are `inDoubt` (CONTRACT §2.6).

import { NOT_FOUND } from "../contract/names.ts";
import { OBJECTS } from "../contract/objects/registry.ts";
import type { StatusRequest } from "../contract/requests.ts";
import type { OperationStatus, StatusResult } from "../contract/results.ts";
import type { ChangeLedger } from "./changes.ts";
import { type CustomerState, followedCustomers, type KeepContext, keepChanges, statesOf } from "./keep-changes.ts";
import type { BulkApi, BulkRecord, BulkRecords, Counters, Log, ReadOperation } from "./ports.ts";
import { verdictOf } from "./verdict.ts";

/** A recorded operation Kustomer does not know yet (CONTRACT §2.6). */
export const PENDING = "pending";
/** A recorded operation Kustomer stopped reporting: its customers are in doubt. */
export const LOST = "inDoubt";

export interface StatusDependencies {
  kustomer: BulkApi;
  concurrency: number;
  bulkRecords?: BulkRecords;
  notFoundGraceMs: number;
  now?: () => number;
  /** What Kustomer last applied (CONTRACT §2.7): a final read makes what it applied current. */
  changes?: ChangeLedger;
  log: Log;
  counters: Counters;
}

export async function readStatus(
  request: StatusRequest,
  services: StatusDependencies,
  deadlineAt: number,
  caller?: string,
): Promise<StatusResult> {
  const records = caller && services.bulkRecords ? await services.bulkRecords.find(request.bulkIds, deadlineAt) : undefined;
  // A caller reads only its own operations: another's id is as unknown to it as one Kustomer never gave.
  const readable = records
    ? [...new Set(request.bulkIds.filter((bulkId) => records.get(bulkId)?.caller === caller))]
    : [...new Set(request.bulkIds)];
  const read = await services.kustomer.read(readable, deadlineAt, services.concurrency);
  const byId = new Map(readable.map((bulkId, index) => [bulkId, read[index]]));
  const now = (services.now ?? Date.now)();
  let applied = 0;
  let failed = 0;
  const counted = new Set<string>();
  const operations = request.bulkIds.map((bulkId): OperationStatus => {
    const operation = byId.get(bulkId);
    if (!operation) return { bulkId, status: NOT_FOUND, successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] };
    const record = records?.get(bulkId);
    if (operation.status.status === NOT_FOUND && record) {
      const verdict = verdictOf(NOT_FOUND, { bulkId, recordedAt: record.recordedAt }, now, services.notFoundGraceMs);
      return verdict.kind === "lost"
        ? { ...operation.status, status: LOST, inDoubtCustomerIds: record.customerIds }
        : { ...operation.status, status: PENDING };
    }
    // An id asked for twice is one operation: its customers count once.
    if (!counted.has(bulkId)) {
      applied += operation.applied;
      failed += operation.failed;
    }
    counted.add(bulkId);
    return operation.status;
  });
  const allComplete = operations.every((operation) => operation.status === "complete" || operation.status === LOST);
  if (!allComplete) return { allComplete, operations };
  // A bulk id does not say its object: each listed object's pending records are looked up, and only
  // those that name the operation are kept.
  for (const object of services.changes ? OBJECTS : []) {
    const ledger = (services.changes as ChangeLedger).of(object);
    await keepWhatWasRead(operations, byId, records, { ...services, ledger, deadlineAt });
  }
  // Final: every customer of these operations counted once (CONTRACT §2.6).
  const once = new Map(operations.map((operation) => [operation.bulkId, operation]));
  const inDoubt = [...once.values()].reduce((sum, operation) => sum + operation.inDoubtCustomerIds.length, 0);
  return { allComplete, operations, items: applied + failed + inDoubt, applied, failed, inDoubt, unsent: 0, unchanged: 0 };
}

/**
 * A final status read is a follow-up too (CONTRACT §2.7): each customer whose pending record names the
 * operation gets its hashes made current, dropped, or its fields' dropped, by what Kustomer said.
 */
async function keepWhatWasRead(
  operations: OperationStatus[],
  byId: Map<string, ReadOperation | undefined>,
  records: Map<string, BulkRecord> | undefined,
  context: KeepContext,
): Promise<void> {
  for (const operation of new Map(operations.map((read) => [read.bulkId, read])).values()) {
    const customerIds = records?.get(operation.bulkId)?.customerIds ?? byId.get(operation.bulkId)?.customerIds ?? [];
    if (customerIds.length === 0 || (operation.status !== "complete" && operation.status !== LOST)) continue;
    const states = operation.status === LOST ? new Map<string, CustomerState>() : statesOf(customerIds, operation);
    try {
      await keepChanges(operation.bulkId, await followedCustomers(operation.bulkId, customerIds, states, context), context);
    } catch (error) {
      context.counters?.count("ChangesNotKept");
      context.log.warn("the changes table could not be read", { bulkId: operation.bulkId, error: (error as Error).name });
    }
  }
}
