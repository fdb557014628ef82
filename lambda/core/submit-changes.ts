// A command's submit with the changes table (CONTRACT §2.7): compared first, only what changed sent,
// and what was sent kept in the ledger, pending under its bulk id or dropped when in doubt. A
// resubmission of the workflow sends the same customers as the first attempt (the `sent` bitmap),
// whole, so that its requests are the first attempt's requests.
import { BulkUpdateError } from "../contract/errors.ts";
import type { ObjectUpdate } from "../contract/objects/kustomer-object.ts";
import type { BulkUpdateCommand, Settled } from "../contract/requests.ts";
import type { SubmitResult } from "../contract/results.ts";
import { ChangeRecorder } from "./change-recorder.ts";
import { type ChangeLedger, type CommandChanges, compareCommand, fieldHashes, sentOf } from "./changes.ts";
import { echo, planRequests } from "./plan.ts";
import { type BulkDependencies, IN_DOUBT, submitBulkUpdate } from "./submit.ts";

export interface ChangedSubmit {
  result: SubmitResult;
  /** Which of the command's updates were sent: the follow-up plans with the same. */
  sent: string;
}

export async function submitChanges(
  command: BulkUpdateCommand,
  services: BulkDependencies & { changes: ChangeLedger },
  deadlineAt: number,
  resumed?: { earlier: Settled; sent: string },
): Promise<ChangedSubmit> {
  const context = { deadlineAt, log: services.log, counters: services.counters };
  const changes = resumed ? resumedChanges(command, resumed.sent) : await compareCommand(command, services.changes, context);
  const recorder = new ChangeRecorder({ ledger: services.changes, ...context });
  recorder.know(changes.customers);
  const { sent, unchanged } = changes;
  const toSend = changes.command;
  if (!toSend) return { result: { status: "submitted", ...echo(command), items: unchanged, operations: [], unchanged }, sent };
  // What an earlier attempt had accepted is recorded already: recording it again would overwrite what
  // another run has sent since, and let this older value be made current.
  const earlier = new Set(resumed?.earlier.accepted.map(({ bulkId }) => bulkId).filter((bulkId) => bulkId !== null));
  try {
    const result = await submitBulkUpdate(toSend, services, deadlineAt, resumed?.earlier);
    for (const operation of result.operations) {
      if (operation.bulkId === null || operation.status === IN_DOUBT) await recorder.inDoubt(operation.customerIds);
      else if (!earlier.has(operation.bulkId)) await recorder.pending(operation.bulkId, operation.customerIds);
    }
    return { result: { ...result, items: result.items + unchanged, unchanged }, sent };
  } catch (error) {
    if (!(error instanceof BulkUpdateError) || !error.progress) throw error;
    const planned = planRequests(toSend);
    for (const { request, bulkId } of error.progress.settled?.accepted ?? []) {
      const customerIds = planned[request]?.customerIds ?? [];
      if (bulkId === null) await recorder.inDoubt(customerIds);
      else if (!earlier.has(bulkId)) await recorder.pending(bulkId, customerIds);
    }
    for (const request of error.progress.settled?.unanswered ?? []) await recorder.inDoubt(planned[request]?.customerIds ?? []);
    throw error.withProgress({ ...error.progress, sent });
  }
}

/** The first attempt's customers again, whole: each request carries what it carried then. */
function resumedChanges(command: BulkUpdateCommand, sent: string): CommandChanges {
  const toSend = sentOf(command, sent);
  const body = toSend?.body ?? [];
  return {
    command: toSend,
    sent,
    unchanged: command.body.length - body.length,
    customers: body.map((update) => ({ id: update.id, hashes: fieldHashes(update) })),
    fields: [],
  };
}

/** A dry run with the changes table: what would be sent, per customer and field, and what is unchanged. */
export async function planChanges(
  command: BulkUpdateCommand,
  services: Pick<BulkDependencies, "log" | "counters"> & { changes: ChangeLedger },
  deadlineAt: number,
): Promise<SubmitResult> {
  const changes = await compareCommand(command, services.changes, { deadlineAt, log: services.log, counters: services.counters });
  let position = 0;
  const operations = (changes.command ? planRequests(changes.command) : []).map((request) => {
    const fields = changes.fields.slice(position, position + request.customerIds.length);
    position += request.customerIds.length;
    return { bulkId: null, status: "planned", items: request.customerIds.length, customerIds: request.customerIds, fields };
  });
  return { status: "dryRun", ...echo(command), items: command.body.length, unchanged: changes.unchanged, operations };
}

/**
 * A submit that is not compared (ids mode, a Distributed Map batch of your own) still changes what
 * Kustomer holds: the fields it sends lose their current hashes first, so no later comparison
 * trusts a value this send may replace.
 */
export async function forgetWhatIsSent(
  command: BulkUpdateCommand,
  services: Pick<BulkDependencies, "log" | "counters"> & { changes: ChangeLedger },
  deadlineAt: number,
): Promise<void> {
  const recorder = new ChangeRecorder({ ledger: services.changes, log: services.log, counters: services.counters, deadlineAt });
  const shared = command.ids ? fieldHashes(command.body[0] as ObjectUpdate) : undefined;
  const customers = command.ids
    ? command.ids.map((id) => ({ id, hashes: shared ?? {} }))
    : command.body.map((update) => ({ id: update.id, hashes: fieldHashes(update) }));
  recorder.know(customers);
  await recorder.inDoubt(customers.map(({ id }) => id));
}
