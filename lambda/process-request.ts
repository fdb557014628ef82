// The use case, free of any trigger: validate the request, then submit, plan (dry run), read status
// or the outcome, or submit what is valid of a Distributed Map batch.
import { InternalError } from "./errors.ts";
import { dryRun } from "./kustomer/plan.ts";
import { getBulkStatuses } from "./kustomer/status.ts";
import { submitBulkUpdate } from "./kustomer/submit.ts";
import { readOutcome, type OutcomeDependencies } from "./outcome.ts";
import type { OutcomeResult, StatusResult, SubmitResult } from "./results.ts";
import type { Settled } from "./schema.ts";
import { parseRequest, splitBatch } from "./validation.ts";

/** What the use case uses, and nothing else. */
export interface Services extends OutcomeDependencies {
  /** Updates per command (MAX_ITEMS). */
  maxItems: number;
}

/** What the use case answers, told apart by `kind` so no caller tests a result's shape. */
export type RequestResult =
  | { kind: "submitted" | "dryRun"; result: SubmitResult }
  | { kind: "status"; result: StatusResult }
  | { kind: "outcome"; result: OutcomeResult };

/** `earlier`: what earlier attempts of the same command settled (the workflow's resubmission). */
export async function processRequest(input: unknown, services: Services, deadlineAt: number, earlier?: Settled): Promise<RequestResult> {
  const request = parseRequest(input, services.maxItems);
  if (request.action === "status") return { kind: "status", result: await getBulkStatuses(request.bulkIds, services.client, deadlineAt, services.concurrency) };
  if (request.action === "outcome") {
    const command = parseRequest(request.command, services.maxItems);
    if (command.action !== undefined && command.action !== "submit") throw new InternalError(`the workflow asked for the outcome of a ${command.action} request`);
    return { kind: "outcome", result: await readOutcome(request, command, services, deadlineAt) };
  }
  if (request.action === "batch") {
    const { command, rejected } = splitBatch(request.items);
    const submitted = command ? await submitBulkUpdate(command, services, deadlineAt) : { status: "submitted" as const, items: 0, operations: [] };
    return { kind: "submitted", result: rejected.length > 0 ? { ...submitted, rejected } : submitted };
  }
  if (request.dryRun) return { kind: "dryRun", result: dryRun(request) };
  return { kind: "submitted", result: await submitBulkUpdate(request, services, deadlineAt, earlier) };
}
