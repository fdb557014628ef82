// Submitting a bulk update: the planned requests sent a few at a time, each by exactly one worker.
import { BulkUpdateError } from "../errors.ts";
import type { Counters, Log } from "../observability.ts";
import type { Operation, SubmitResult } from "../results.ts";
import type { BulkUpdateCommand } from "../schema.ts";
import type { KustomerApi } from "./client.ts";
import { countItems, echo, planRequests, requestBody, type PlannedRequest } from "./plan.ts";
import { inPool } from "./pool.ts";
import { bulkOperationResponse, statusOf } from "./wire.ts";

export interface BulkDependencies {
  client: KustomerApi;
  log: Log;
  counters: Counters;
  /** Bulk requests in flight at once for one command. */
  concurrency: number;
}

/**
 * Sends the requests, a bounded number at a time; each request is taken by exactly one worker, so no
 * item goes out twice. After a failure no new request starts. The error then names the bulk ids
 * accepted and the customer ids not accepted; re-sending the whole command is safe (updates are
 * idempotent).
 */
export async function submitBulkUpdate(
  command: BulkUpdateCommand,
  { client, log, counters, concurrency }: BulkDependencies,
  deadlineAt: number,
): Promise<SubmitResult> {
  const planned = planRequests(command);
  const accepted: Array<Operation | undefined> = new Array(planned.length);

  const send = async (index: number, request: PlannedRequest) => {
    const started = Date.now();
    const { data, attempts } = await client.send(
      { method: "PUT", path: "/v1/customers/bulk", query: request.query, body: requestBody(request) },
      bulkOperationResponse,
      deadlineAt,
    );
    const operation = { bulkId: data.data.id, status: statusOf(data.data, "queued"), items: request.customerIds.length, customerIds: request.customerIds };
    accepted[index] = operation;
    counters.count("BulkRequests");
    counters.count("ItemsSubmitted", operation.items);
    log.debug("bulk request accepted", {
      chunk: index + 1,
      chunks: planned.length,
      items: operation.items,
      bulkId: operation.bulkId,
      attempts,
      durationMs: Date.now() - started,
    });
  };
  // After a failure no new request starts: the error then names what was and was not sent.
  const failure = await inPool(planned.length, concurrency, (index) => send(index, planned[index] as PlannedRequest), { stopOnFailure: true });

  const operations = accepted.filter((operation): operation is Operation => operation !== undefined);
  if (failure) throw withProgress(failure.error, operations, planned.filter((_, index) => !accepted[index]));
  return { status: "submitted", ...echo(command), items: countItems(operations), operations };
}

/** The error, now naming the bulk ids accepted before it and the customers not sent; unchanged when nothing was sent. */
function withProgress(error: unknown, accepted: Operation[], unsent: PlannedRequest[]): unknown {
  if (!(error instanceof BulkUpdateError) || accepted.length === 0) return error;
  return error.withProgress({
    acceptedBulkIds: accepted.map((operation) => operation.bulkId as string),
    unsentCustomerIds: unsent.flatMap((request) => request.customerIds),
  });
}

