// Planning a bulk update, with no I/O: a command cut into Kustomer bulk requests of at most 100
// customers, each request's body, and the dry run's answer.

import { KUSTOMER_BULK_LIMIT } from "../contract/limits.ts";
import type { ObjectUpdate } from "../contract/objects/kustomer-object.ts";
import type { BulkUpdateCommand } from "../contract/requests.ts";
import type { Operation, SubmitResult } from "../contract/results.ts";

export interface PlannedRequest {
  customerIds: string[];
  query?: { ids: string };
  /** The command's own items, not copies: bodies are built one request at a time, when sent. */
  items: ObjectUpdate[];
  /** Array mode: each item goes out with `_clientRef`. */
  tagged: boolean;
}

/**
 * Array mode: chunks of the body, each item tagged with `_clientRef` (its customer id, unique in the
 * command) so batch results can be matched to customers later without any state of ours.
 * ids mode: chunks of the ids, each sent with the one shared update.
 */
export function planRequests(command: BulkUpdateCommand): PlannedRequest[] {
  const { ids, body } = command;
  if (ids)
    return inRequests(ids).map((customerIds) => ({ customerIds, query: { ids: customerIds.join(",") }, items: body, tagged: false }));
  return inRequests(body).map((items) => ({ customerIds: items.map((item) => item.id), items, tagged: true }));
}

/** A list cut as a command's requests cut it: KUSTOMER_BULK_LIMIT at a time, in order. */
export function inRequests<T>(list: readonly T[]): T[][] {
  const requests: T[][] = [];
  for (let start = 0; start < list.length; start += KUSTOMER_BULK_LIMIT) requests.push(list.slice(start, start + KUSTOMER_BULK_LIMIT));
  return requests;
}

export function requestBody(request: PlannedRequest): Array<ObjectUpdate & { _clientRef?: string }> {
  return request.tagged ? request.items.map((item) => ({ ...item, _clientRef: item.id })) : request.items;
}

export function dryRun(command: BulkUpdateCommand): SubmitResult {
  const operations = planRequests(command).map((request) => ({
    bulkId: null,
    status: "planned",
    items: request.customerIds.length,
    customerIds: request.customerIds,
  }));
  return { status: "dryRun", ...echo(command), items: countItems(operations), operations };
}

/** The caller's correlationId, in the result only when the command had one. */
export function echo(command: BulkUpdateCommand): { correlationId?: string } {
  return command.correlationId === undefined ? {} : { correlationId: command.correlationId };
}

export function countItems(operations: Operation[]): number {
  return operations.reduce((sum, operation) => sum + operation.items, 0);
}
