// What the follow-up learned, kept in the change ledger (CONTRACT §2.7): applied hashes become current
// (where the pending record still names the bulk id), failed ones are dropped, and in-doubt fields
// lose their current hashes. A table that fails is logged and counted: the next run sends again.
import type { ObjectUpdate } from "../contract/objects/kustomer-object.ts";
import type { OperationStatus } from "../contract/results.ts";
import { account } from "./accounting.ts";
import { type ChangeLedger, fieldHashes, type SentCustomer } from "./changes.ts";
import type { Counters, Log } from "./ports.ts";

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
  // Each apart, the drops first: a failed promotion must not keep a doubt from being recorded.
  const writes: Array<[string, () => Promise<void>]> = [
    ["inDoubt", () => ledger.inDoubt(inState("inDoubt"), deadlineAt)],
    ["applied", () => ledger.applied(bulkId, inState("applied"), deadlineAt)],
    [
      "failed",
      () =>
        ledger.failed(
          bulkId,
          inState("failed").map(({ id }) => id),
          deadlineAt,
        ),
    ],
  ];
  for (const [what, write] of writes) {
    try {
      await write();
    } catch (error) {
      counters?.count("ChangesNotKept");
      log.warn("the changes table could not be written", { bulkId, what, error: (error as Error).name });
    }
  }
}

/**
 * An operation's customers as the follow-up found them, with what each carried: the hashes its pending
 * record holds, when that record still names this operation (another run's record is left alone). A
 * customer in doubt whose record names another operation still has its fields dropped, all of them
 * where its update is known (the workflow's command), since which were sent is not.
 */
export async function followedCustomers(
  bulkId: string,
  customerIds: string[],
  states: Map<string, CustomerState>,
  context: KeepContext,
  updates?: ObjectUpdate[],
): Promise<Array<SentCustomer & { state: CustomerState }>> {
  const pending = await context.ledger.pendingOf(customerIds, context.deadlineAt);
  const updateOf = new Map(updates?.map((update) => [update.id.toLowerCase(), update]));
  return customerIds.flatMap((id) => {
    const state = states.get(id.toLowerCase()) ?? "inDoubt";
    const mine = pending.get(id.toLowerCase());
    if (mine?.bulkId === bulkId) return [{ id, hashes: mine.hashes, state }];
    const update = updateOf.get(id.toLowerCase());
    return state === "inDoubt" && update ? [{ id, hashes: fieldHashes(update), state }] : [];
  });
}
