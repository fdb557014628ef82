// What the follow-up learned, kept in the change ledger (CONTRACT §2.7): applied hashes become current
// (where the pending record still names the bulk id), failed ones are dropped, and in-doubt fields
// lose their current hashes. A table that fails is logged and counted: the next run sends again.
import type { CustomerUpdate } from "../contract/requests.ts";
import type { OperationStatus } from "../contract/results.ts";
import type { Counters, Log } from "../platform/observability.ts";
import { account } from "./accounting.ts";
import { type ChangeLedger, fieldHashes, type SentCustomer } from "./changes.ts";

export interface KeepContext {
  ledger: ChangeLedger;
  log: Log;
  counters?: Counters;
  deadlineAt: number;
}

export type CustomerState = "applied" | "failed" | "inDoubt";

/** Each customer of a complete operation, as its answer accounts for it (as the job's ledger does). */
export function statesOf(customerIds: string[], status: OperationStatus): Map<string, CustomerState> {
  const { failed, inDoubt } = account(customerIds, { successCount: status.successCount, failures: status.failures, appliedIds: [] });
  const states = new Map<string, CustomerState>(customerIds.map((id) => [id.toLowerCase(), "applied"]));
  for (const id of [...inDoubt, ...status.inDoubtCustomerIds]) if (states.has(id.toLowerCase())) states.set(id.toLowerCase(), "inDoubt");
  for (const { id } of failed) states.set(id.toLowerCase(), "failed");
  return states;
}

/** One operation's customers: `hashes` what each request carried. */
export async function keepChanges(
  bulkId: string,
  customers: Array<SentCustomer & { state: CustomerState }>,
  { ledger, log, counters, deadlineAt }: KeepContext,
): Promise<void> {
  const inState = (state: CustomerState) => customers.filter((customer) => customer.state === state);
  try {
    await ledger.applied(bulkId, inState("applied"), deadlineAt);
    await ledger.failed(
      bulkId,
      inState("failed").map(({ id }) => id),
      deadlineAt,
    );
    await ledger.inDoubt(inState("inDoubt"), deadlineAt);
  } catch (error) {
    counters?.count("ChangesNotKept");
    log.warn("the changes table could not be written: the next run sends these customers again", { bulkId, error: (error as Error).name });
  }
}

/**
 * A workflow's customers, with the hashes of every field of their update: the fields not sent were
 * current already, and any other run that touched a customer since has made its promotion fail.
 */
export function sentCustomers(
  updates: CustomerUpdate[],
  states: Map<string, CustomerState>,
): Array<SentCustomer & { state: CustomerState }> {
  return updates.map((update) => ({ id: update.id, hashes: fieldHashes(update), state: states.get(update.id.toLowerCase()) ?? "inDoubt" }));
}
