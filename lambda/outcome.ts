// The outcome of a command's bulk operations, as the workflow announces it (CONTRACT §3.2): what
// Kustomer accounts for as applied and failed over every operation, each failed customer with
// Kustomer's reason, and the customers in doubt: those the submit left so, and those no answer names.
import { NotFoundError } from "./errors.ts";
import { NOT_FOUND, readOperations } from "./kustomer/status.ts";
import type { BulkDependencies } from "./kustomer/submit.ts";
import { listForEvent, type ListStore } from "./list-store.ts";
import type { OutcomeResult } from "./results.ts";
import type { OutcomeRequest } from "./schema.ts";

export interface OutcomeDependencies extends BulkDependencies {
  /** Where a failure list too long for the event is kept. */
  listStore?: ListStore;
}

export async function readOutcome(request: OutcomeRequest, services: OutcomeDependencies, deadlineAt: number): Promise<OutcomeResult> {
  const read = await readOperations(request.bulkIds, services.client, deadlineAt, services.concurrency);
  const operations = read.map(({ status }) => status);
  const allComplete = operations.every((operation) => operation.status === "complete");
  // An operation Kustomer does not know will never complete: waiting for it would only end in the timeout.
  const unknown = operations.find((operation) => operation.status === NOT_FOUND);
  if (unknown) throw new NotFoundError(`Kustomer knows no bulk operation ${unknown.bulkId}`);
  const incomplete = operations.filter((operation) => operation.status !== "complete").map(({ bulkId, status }) => ({ bulkId, status }));
  const applied = read.reduce((sum, { applied: count }) => sum + count, 0);
  const failures = operations.flatMap((operation) => operation.failures);
  const failed = read.reduce((sum, { failed: count }) => sum + count, 0);
  const doubted = [...(request.inDoubtCustomerIds ?? []), ...operations.flatMap((operation) => operation.inDoubtCustomerIds)];
  const inDoubt = (request.inDoubt ?? 0) + operations.reduce((sum, operation) => sum + operation.inDoubtCustomerIds.length, 0);
  if (!allComplete) return { allComplete, incomplete, applied, failed, inDoubt, failures: [], inDoubtCustomerIds: [] };
  const listedFailures = await listForEvent(failures, services.listStore, "failures");
  const listedDoubts = await listForEvent(doubted, services.listStore, "in-doubt-customer-ids");
  return {
    allComplete,
    incomplete,
    applied,
    failed,
    inDoubt,
    failures: listedFailures.listed,
    ...(listedFailures.object ? { failuresObject: listedFailures.object } : {}),
    inDoubtCustomerIds: listedDoubts.listed,
    ...(listedDoubts.object ? { inDoubtCustomerIdsObject: listedDoubts.object } : {}),
  };
}
