// Reading bulk operations back (CONTRACT §2.3): Kustomer's account of each one. For an HTTP caller,
// with the stack's table, only the operations it submitted are read, and a recorded id Kustomer does
// not know yet is `pending` for the grace, then its customers are `inDoubt` (CONTRACT §2.6).
import type { BulkRecords } from "../adapters/aws/bulk-records.ts";
import type { StatusRequest } from "../contract/requests.ts";
import type { OperationStatus, StatusResult } from "../contract/results.ts";
import type { KustomerApi } from "../kustomer/client.ts";
import { NOT_FOUND, readOperations } from "../kustomer/status.ts";
import { verdictOf } from "./verdict.ts";

/** A recorded operation Kustomer does not know yet (CONTRACT §2.6). */
export const PENDING = "pending";
/** A recorded operation Kustomer stopped reporting: its customers are in doubt. */
export const LOST = "inDoubt";

export interface StatusDependencies {
  client: KustomerApi;
  concurrency: number;
  bulkRecords?: BulkRecords;
  notFoundGraceMs: number;
  now?: () => number;
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
  const read = await readOperations(readable, services.client, deadlineAt, services.concurrency);
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
  // Final: every customer of these operations counted once (CONTRACT §2.6).
  const once = new Map(operations.map((operation) => [operation.bulkId, operation]));
  const inDoubt = [...once.values()].reduce((sum, operation) => sum + operation.inDoubtCustomerIds.length, 0);
  return { allComplete, operations, items: applied + failed + inDoubt, applied, failed, inDoubt, unsent: 0, unchanged: 0 };
}
