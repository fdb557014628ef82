// The bulk-update workflow's own tasks (infra/workflow.ts), told apart by the client context the
// workflow invokes with. The workflow puts its outcome event straight from these answers, so each
// answer is what the event needs: a submit answers its bulk ids (never every customer id, which could
// pass Step Functions' 256 KiB), an outcome its sums, and an error is an answer too, because a thrown
// error reaches Step Functions without its fields (which customers were not sent).
import type { Context } from "aws-lambda";
import { contractErrorOf, InternalError, KustomerRateLimitError, ValidationError } from "../errors.ts";
import { listForEvent } from "../list-store.ts";
import type { RequestResult } from "../process-request.ts";
import type { OutcomeResult } from "../results.ts";
import { correlationKey, isObject, type AdapterCall, type TriggerAdapter } from "./adapter.ts";

/** The workflow's LambdaInvoke tasks send `{ "custom": { "caller": WORKFLOW_CALLER } }` as client context. */
export const WORKFLOW_CALLER = "kustomer-bulk-update-workflow";

/** The workflow's wait before submitting again after a retryable error that named no time of its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;

/** What the workflow carries from the submit to its outcome event: bulk ids, and customers in doubt. */
export interface SubmittedSummary {
  items: number;
  bulkIds: string[];
  inDoubt: number;
  inDoubtCustomerIds: string[];
  inDoubtCustomerIdsObject?: string;
  unsent: 0;
  unchanged: 0;
}

export type WorkflowAnswer =
  | { status: "submitted"; summary: SubmittedSummary }
  | { status: "dryRun"; outcome: { dryRun: true; items: number; requests: number; applied: 0; failed: 0; failures: []; bulkIds: [] } }
  | { status: "complete"; outcome: Omit<OutcomeResult, "allComplete" | "incomplete"> }
  | { status: "incomplete"; incomplete: Array<{ bulkId: string; status: string }> }
  | { status: "failed"; retryable: boolean; retryAfterSeconds: number; outcome: Record<string, unknown> };

async function toAnswer(answer: RequestResult, { listStore }: AdapterCall): Promise<WorkflowAnswer> {
  switch (answer.kind) {
    case "dryRun": {
      const { items, operations } = answer.result;
      return { status: "dryRun", outcome: { dryRun: true, items, requests: operations.length, applied: 0, failed: 0, failures: [], bulkIds: [] } };
    }
    case "submitted": {
      const { items, operations, inDoubtCustomerIds = [] } = answer.result;
      const { listed, object } = await listForEvent(inDoubtCustomerIds, listStore, "in-doubt-customer-ids");
      const bulkIds = operations.flatMap((operation) => (operation.bulkId === null ? [] : [operation.bulkId]));
      const summary: SubmittedSummary = { items, bulkIds, inDoubt: inDoubtCustomerIds.length, inDoubtCustomerIds: listed, unsent: 0, unchanged: 0 };
      return { status: "submitted", summary: object ? { ...summary, inDoubtCustomerIdsObject: object } : summary };
    }
    case "outcome": {
      const { allComplete, incomplete, ...outcome } = answer.result;
      if (!allComplete) return { status: "incomplete", incomplete };
      return { status: "complete", outcome };
    }
    default:
      // The public status read: the workflow never asks for it.
      throw new ValidationError(`the workflow sends commands and { action: "outcome" }, not ${answer.kind} requests`);
  }
}

/** The customer ids a command names, whatever else is wrong with it. */
function customerIdsOf(command: unknown): string[] {
  if (!isObject(command)) return [];
  if (typeof command.ids === "string") return command.ids.split(",").map((id) => id.trim());
  const list = Array.isArray(command.ids) ? command.ids : Array.isArray(command.body) ? command.body.map((item) => (isObject(item) ? item.id : undefined)) : [];
  return list.filter((id): id is string => typeof id === "string");
}

async function toFailure(failure: unknown, { event, listStore }: AdapterCall): Promise<WorkflowAnswer> {
  const error = contractErrorOf(failure);
  const outcome: Record<string, unknown> = { error: { name: error.name, message: error.message } };
  const isCommand = isObject(event) && event.action !== "outcome";
  if (isCommand && error instanceof ValidationError) outcome.acceptedBulkIds = [];
  // An invalid command names its problems; which customers it meant is then anybody's guess. After a
  // bug, what was sent is not known: no lists rather than wrong ones.
  if (isCommand && !(error instanceof ValidationError) && !(error instanceof InternalError)) {
    const { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds } = error.progress ?? { acceptedBulkIds: [], inDoubtCustomerIds: [], unsentCustomerIds: customerIdsOf(event) };
    const unsent = await listForEvent(unsentCustomerIds, listStore, "unsent-customer-ids");
    const inDoubt = await listForEvent(inDoubtCustomerIds, listStore, "in-doubt-customer-ids");
    Object.assign(
      outcome,
      { acceptedBulkIds, inDoubtCustomerIds: inDoubt.listed, unsentCustomerIds: unsent.listed },
      unsent.object ? { unsentCustomerIdsObject: unsent.object } : {},
      inDoubt.object ? { inDoubtCustomerIdsObject: inDoubt.object } : {},
    );
  }
  const retryAfterSeconds = error instanceof KustomerRateLimitError ? error.retryAfterSeconds : DEFAULT_RETRY_AFTER_SECONDS;
  return { status: "failed", retryable: error.retryable, retryAfterSeconds: error.retryable ? Math.max(1, retryAfterSeconds) : 0, outcome };
}

export const workflowAdapter: TriggerAdapter<WorkflowAnswer> = {
  trigger: "workflow",
  matches: (_event, context?: Context) => context?.clientContext?.custom?.caller === WORKFLOW_CALLER,
  toRequest: (event) => event,
  idempotencyKey: correlationKey,
  toResponse: toAnswer,
  onError: toFailure,
};
