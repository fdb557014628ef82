// The outcome of a command's bulk operations, as the workflow announces it (CONTRACT §3.2): what
// Kustomer applied and failed over every operation, and each failed customer with Kustomer's reason.
import { NotFoundError } from "./errors.ts";
import { getBulkStatuses, NOT_FOUND } from "./kustomer/status.ts";
import type { BulkDependencies } from "./kustomer/submit.ts";
import { listForEvent, type ListStore } from "./list-store.ts";
import type { OutcomeResult } from "./results.ts";
import type { OutcomeRequest } from "./schema.ts";

export interface OutcomeDependencies extends BulkDependencies {
  /** Where a failure list too long for the event is kept. */
  listStore?: ListStore;
}

export async function readOutcome(request: OutcomeRequest, services: OutcomeDependencies, deadlineAt: number): Promise<OutcomeResult> {
  const { allComplete, operations } = await getBulkStatuses(request.bulkIds, services.client, deadlineAt, services.concurrency);
  // An operation Kustomer does not know will never complete: waiting for it would only end in the timeout.
  const unknown = operations.find((operation) => operation.status === NOT_FOUND);
  if (unknown) throw new NotFoundError(`Kustomer knows no bulk operation ${unknown.bulkId}`);
  const incomplete = operations.filter((operation) => operation.status !== "complete").map(({ bulkId, status }) => ({ bulkId, status }));
  const applied = operations.reduce((sum, operation) => sum + (operation.successCount ?? 0), 0);
  const failures = operations.flatMap((operation) => operation.failures);
  const failed = operations.reduce((sum, operation) => sum + (operation.failureCount ?? 0), 0);
  if (!allComplete) return { allComplete, incomplete, applied, failed, failures: [] };
  const { listed, object } = await listForEvent(failures, services.listStore, "failures");
  return { allComplete, incomplete, applied, failed: Math.max(failed, failures.length), failures: listed, ...(object ? { failuresObject: object } : {}) };
}
