// What the workflow's tasks answer (infra/workflow.ts puts its outcome event straight from these):
// a submit answers its bulk ids and which updates it sent (never every customer id, which could pass
// Step Functions' 256 KiB), an outcome its sums, and an error is an answer too, because a thrown error
// reaches Step Functions without its fields (which customers were not sent).
import { MAX_TASK_INPUT_BYTES } from "../adapters/aws/workflow-starter.ts";
import { contractErrorOf, InternalError, type SubmissionProgress, ValidationError } from "../contract/errors.ts";
import { KustomerRateLimitError } from "../contract/kustomer-errors.ts";
import type { Settled } from "../contract/requests.ts";
import type { OutcomeResult } from "../contract/results.ts";
import { sentFlags } from "../core/changes.ts";
import { listForEvent } from "../core/listed.ts";
import { inRequests } from "../core/plan.ts";
import type { RequestResult } from "../core/process-request.ts";
import { type AdapterCall, isObject } from "./adapter.ts";

const NOTHING_SETTLED: Settled = { accepted: [], unanswered: [] };

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
  /** With the changes table: customers not sent, since Kustomer already holds their values (CONTRACT §2.7). */
  unchanged: number;
}

/** What the follow-up reads with the command (CONTRACT §2.6): each request's bulk id, or null when in doubt. */
export interface FollowUp {
  submittedAt: number;
  requests: Array<string | null>;
  /** With the changes table, which updates the submit sent (a bitmap); empty, all of them. */
  sent: string;
  /**
   * Where the submit's in-doubt list is kept whole, when the summary's is cut: always an object, so
   * the state machine can merge it into a Failed event whether or not it names one.
   */
  lists: { inDoubtCustomerIdsObject?: string };
}

export type WorkflowAnswer =
  | { status: "submitted"; summary: SubmittedSummary; follow: FollowUp }
  | {
      status: "dryRun";
      outcome: { dryRun: true; items: number; requests: number; applied: 0; failed: 0; unchanged: number; failures: []; bulkIds: [] };
    }
  | { status: "complete"; outcome: Omit<OutcomeResult, "allComplete" | "incomplete" | "seen"> }
  | { status: "incomplete"; incomplete: Array<{ bulkId: string; status: string }>; seen: Array<string | null> }
  | {
      status: "failed";
      retryable: boolean;
      retryAfterSeconds: number;
      outcome: Record<string, unknown>;
      settled?: Settled;
      sent?: string;
      seen?: unknown[];
    };

export async function toAnswer(answer: RequestResult, { listStore }: AdapterCall): Promise<WorkflowAnswer> {
  switch (answer.kind) {
    case "dryRun": {
      const { items, operations, unchanged = 0 } = answer.result;
      return {
        status: "dryRun",
        outcome: { dryRun: true, items, requests: operations.length, applied: 0, failed: 0, unchanged, failures: [], bulkIds: [] },
      };
    }
    case "submitted": {
      const { items, operations, inDoubtCustomerIds = [], unchanged = 0 } = answer.result;
      const { listed, object } = await listForEvent(inDoubtCustomerIds, listStore, "in-doubt-customer-ids");
      const bulkIds = operations.flatMap((operation) => (operation.bulkId === null ? [] : [operation.bulkId]));
      const summary: SubmittedSummary = {
        items,
        bulkIds,
        inDoubt: inDoubtCustomerIds.length,
        inDoubtCustomerIds: listed,
        unsent: 0,
        unchanged,
      };
      const follow = {
        submittedAt: Date.now(),
        requests: operations.map((operation) => operation.bulkId),
        sent: answer.sent ?? "",
        lists: object ? { inDoubtCustomerIdsObject: object } : {},
      };
      return { status: "submitted", summary: object ? { ...summary, inDoubtCustomerIdsObject: object } : summary, follow };
    }
    case "outcome": {
      const { allComplete, incomplete, seen, ...outcome } = answer.result;
      if (!allComplete) return { status: "incomplete", incomplete, seen };
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
  const list = Array.isArray(command.ids)
    ? command.ids
    : Array.isArray(command.body)
      ? command.body.map((item) => (isObject(item) ? item.id : undefined))
      : [];
  return list.filter((id): id is string => typeof id === "string");
}

/**
 * What a failed submit answers: the error, the bulk ids accepted, the customers in doubt and those not
 * sent, over every attempt; and, for a resubmission, what the attempts so far settled.
 */
export async function toFailure(
  failure: unknown,
  { event, listStore }: AdapterCall,
  earlier?: Settled,
  earlierSent?: string,
): Promise<WorkflowAnswer> {
  const error = contractErrorOf(failure);
  const outcome: Record<string, unknown> = { error: { name: error.name, message: error.message } };
  const isCommand = isObject(event) && event.action !== "outcome";
  if (isCommand && error instanceof ValidationError) outcome.acceptedBulkIds = [];
  // An invalid command names its problems; which customers it meant is then anybody's guess. After a
  // bug, what was sent is not known: no lists rather than wrong ones.
  const known = isCommand && !(error instanceof ValidationError) && !(error instanceof InternalError);
  if (known) {
    const { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds } =
      error.progress ?? progressOf(sentIdsOf(customerIdsOf(event), earlierSent ?? ""), earlier ?? NOTHING_SETTLED);
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
  const answer: WorkflowAnswer = {
    status: "failed",
    retryable: error.retryable,
    retryAfterSeconds: error.retryable ? Math.max(1, retryAfterSeconds) : 0,
    outcome,
  };
  if (!known || !error.retryable) return answer;
  const settled = error.progress?.settled ?? earlier ?? NOTHING_SETTLED;
  const sent = error.progress?.sent ?? earlierSent ?? "";
  // A resubmission that Step Functions could not hand over would end the run with no event at all.
  const resubmission = Buffer.byteLength(JSON.stringify({ command: event, attempt: Number.MAX_SAFE_INTEGER, settled, sent }));
  return resubmission > MAX_TASK_INPUT_BYTES ? { ...answer, retryable: false, retryAfterSeconds: 0 } : { ...answer, settled, sent };
}

/** With the changes table, the customers the first attempt sent: the requests' customers are those. */
function sentIdsOf(customerIds: string[], sent: string): string[] {
  const flags = sentFlags(sent, customerIds.length);
  return customerIds.filter((_, index) => flags[index]);
}

/** What earlier attempts settled, as customers, when this attempt failed before sending anything. */
function progressOf(customerIds: string[], settled: Settled): SubmissionProgress {
  const requests = inRequests(customerIds);
  const touched = new Set([...settled.accepted.map(({ request }) => request), ...settled.unanswered]);
  return {
    acceptedBulkIds: settled.accepted.flatMap(({ bulkId }) => (bulkId === null ? [] : [bulkId])),
    inDoubtCustomerIds: [
      ...settled.accepted.filter(({ bulkId }) => bulkId === null).map(({ request }) => request),
      ...settled.unanswered,
    ].flatMap((request) => requests[request] ?? []),
    unsentCustomerIds: requests.flatMap((ids, request) => (touched.has(request) ? [] : ids)),
  };
}
