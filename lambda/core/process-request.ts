// The use case, free of any trigger: validate the request, then submit, plan (dry run), read status
// or the outcome, or submit what is valid of a Distributed Map batch; each entry point names the
// requests it takes (CONTRACT §0.1).
import { BulkUpdateError, InternalError, validationErrorOf } from "../contract/errors.ts";
import { objectOf } from "../contract/objects/registry.ts";
import type { BulkRequest, BulkUpdateCommand, Settled } from "../contract/requests.ts";
import type { OutcomeResult, StatusResult, SubmitResult } from "../contract/results.ts";
import { parseRequest, splitBatch } from "../contract/validation.ts";
import { sentOf } from "./changes.ts";
import { dryRun, planRequests } from "./plan.ts";
import type { BulkRecords } from "./ports.ts";
import { type OutcomeDependencies, readOutcome } from "./read-outcome.ts";
import { readStatus } from "./read-status.ts";
import { submitBulkUpdate } from "./submit.ts";
import { forgetWhatIsSent, planChanges, submitChanges } from "./submit-changes.ts";

/** What the use case uses, and nothing else. */
export interface Services extends OutcomeDependencies {
  /** Updates per command (MAX_ITEMS). */
  maxItems: number;
  /** Which caller received which bulk ids, where the stack keeps them. */
  bulkRecords?: BulkRecords;
}

/** The kinds of request, as entry points name what they take. */
export type RequestKind = "command" | "status" | "outcome" | "batch";

export interface RequestOptions {
  /** What earlier attempts of the same command settled (the workflow's resubmission). */
  earlier?: Settled;
  /** With the changes table: which updates the first attempt sent (the workflow's resubmission). */
  sent?: string;
  /** Who asks, where the trigger can tell (HTTP): its bulk ids are recorded, and it reads only those. */
  caller?: string;
}

/** What the use case answers, told apart by `kind` so no caller tests a result's shape. */
export type RequestResult =
  | { kind: "submitted" | "dryRun"; result: SubmitResult; sent?: string }
  | { kind: "status"; result: StatusResult }
  | { kind: "outcome"; result: OutcomeResult };

/**
 * Checks a request completely before anything else happens, a key claimed included: a request the
 * entry point does not take, or an invalid one, is a ValidationError (CONTRACT §0.1, §2.4).
 */
export function validateRequest(input: unknown, maxItems: number, accepts: readonly RequestKind[]): BulkRequest {
  const kind = kindOf(input);
  if (kind === "other" || !accepts.includes(kind)) {
    throw validationErrorOf([
      {
        path: "action",
        message: `this entry point takes ${accepts.map((accepted) => (accepted === "command" ? "commands" : `{ "action": "${accepted}" }`)).join(" and ")}`,
      },
    ]);
  }
  return parseRequest(input, maxItems);
}

export async function processRequest(
  request: BulkRequest,
  services: Services,
  deadlineAt: number,
  { earlier, sent, caller }: RequestOptions = {},
): Promise<RequestResult> {
  if (request.action === "status") return { kind: "status", result: await readStatus(request, services, deadlineAt, caller) };
  if (request.action === "outcome") {
    const command = parseRequest(request.command, services.maxItems);
    if (command.action !== undefined && command.action !== "submit")
      throw new InternalError(`the workflow asked for the outcome of a ${command.action} request`);
    return { kind: "outcome", result: await readOutcome(request, command, withLedgerOf(command, services), deadlineAt) };
  }
  if (request.action === "batch") {
    const { command, rejected } = splitBatch(request.items);
    if (command && services.changes) await forgetWhatIsSent(command, { ...services, changes: services.changes }, deadlineAt);
    const submitted = command
      ? await submitBulkUpdate(command, services, deadlineAt)
      : { status: "submitted" as const, items: 0, operations: [] };
    return { kind: "submitted", result: rejected.length > 0 ? { ...submitted, rejected } : submitted };
  }
  services = withLedgerOf(request, services);
  // ids mode is always sent: one update for many customers has no per-customer values to compare.
  const changes = request.ids ? undefined : services.changes;
  if (request.dryRun)
    return { kind: "dryRun", result: changes ? await planChanges(request, { ...services, changes }, deadlineAt) : dryRun(request) };
  const submit = async (until: number): Promise<{ result: SubmitResult; sent?: string }> => {
    if (request.ids && services.changes) await forgetWhatIsSent(request, { ...services, changes: services.changes }, until);
    if (!changes) return { result: await submitBulkUpdate(request, services, until, earlier) };
    const resumed = earlier && (earlier.accepted.length > 0 || earlier.unanswered.length > 0) ? { earlier, sent: sent ?? "" } : undefined;
    return submitChanges(request, { ...services, changes }, until, resumed);
  };
  if (!caller || !services.bulkRecords) return { kind: "submitted", ...(await submit(deadlineAt)) };
  let submitted: Awaited<ReturnType<typeof submit>>;
  // Kustomer gets all but the last second: recording what it accepted must not be cut off by the deadline
  // the submit used up, or the caller could never read its own bulk ids.
  const submitDeadlineAt = deadlineAt - RECORD_RESERVE_MS;
  try {
    submitted = await submit(submitDeadlineAt);
  } catch (error) {
    // What was accepted before the failure is the caller's to read too.
    if (error instanceof BulkUpdateError && error.progress?.settled)
      await record(services, caller, acceptedOf(request, error.progress.settled, error.progress.sent), deadlineAt);
    throw error;
  }
  const { result } = submitted;
  await record(
    services,
    caller,
    result.operations.flatMap(({ bulkId, customerIds }) => (bulkId === null ? [] : [{ bulkId, customerIds }])),
    deadlineAt,
  );
  return { kind: "submitted", ...submitted };
}

/** The changes table keeps each object's records apart (CONTRACT §2.7): the ledger of the command's. */
function withLedgerOf(command: BulkUpdateCommand, services: Services): Services {
  return services.changes ? { ...services, changes: services.changes.of(objectOf(command)) } : services;
}

function kindOf(input: unknown): RequestKind | "other" {
  const action = typeof input === "object" && input !== null ? (input as { action?: unknown }).action : undefined;
  if (action === undefined || action === "submit") return "command";
  return action === "status" || action === "outcome" || action === "batch" ? action : "other";
}

/** Time kept from the submit for recording the bulk ids it was given. */
const RECORD_RESERVE_MS = 1_000;

function acceptedOf(command: BulkUpdateCommand, settled: Settled, sent?: string): Array<{ bulkId: string; customerIds: string[] }> {
  const planned = planRequests((sent === undefined ? command : sentOf(command, sent)) ?? command);
  return settled.accepted.flatMap(({ request, bulkId }) =>
    bulkId === null ? [] : [{ bulkId, customerIds: planned[request]?.customerIds ?? [] }],
  );
}

/** Kustomer's answer stands whatever the table does: a record that could not be kept is logged. */
async function record(
  services: Services,
  caller: string,
  accepted: Array<{ bulkId: string; customerIds: string[] }>,
  deadlineAt: number,
): Promise<void> {
  if (accepted.length === 0) return;
  try {
    await services.bulkRecords?.record(caller, accepted, deadlineAt);
  } catch (error) {
    services.counters.count("BulkRecordsNotKept");
    services.log.warn("could not record the accepted bulk ids: the caller's status reads of them will answer 404", {
      bulkIds: accepted.map(({ bulkId }) => bulkId),
      error: (error as Error).name,
    });
  }
}
