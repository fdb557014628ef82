// Submitting a bulk update: the planned requests sent a few at a time, each by exactly one worker.
import { BulkUpdateError, KustomerError } from "../errors.ts";
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
 * item goes out twice. A request whose fate is unknown (it may have reached Kustomer, and no answer
 * says what became of it) is an operation of its own, `inDoubt`, with no bulk id, and never "not
 * sent" (CONTRACT §2.6). After any other failure no new request starts; the error then names the bulk
 * ids accepted, the customers in doubt and those not sent. Re-sending any of them is safe.
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
    let sent;
    try {
      sent = await client.send({ method: "PUT", path: "/v1/customers/bulk", query: request.query, body: requestBody(request) }, bulkOperationResponse, deadlineAt);
    } catch (error) {
      if (!(error instanceof KustomerError) || !error.inDoubt) throw error;
      accepted[index] = { bulkId: null, status: IN_DOUBT, items: request.customerIds.length, customerIds: request.customerIds, reason: `${error.name}: ${error.message}` };
      log.warn("bulk request in doubt: it may have reached Kustomer, with no answer", { chunk: index + 1, chunks: planned.length, items: request.customerIds.length, error: error.name });
      return;
    }
    const { data, attempts } = sent;
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
  const inDoubtCustomerIds = inDoubtOf(operations);
  return { status: "submitted", ...echo(command), items: countItems(operations), operations, ...(inDoubtCustomerIds.length ? { inDoubtCustomerIds } : {}) };
}

/** An operation whose request may have reached Kustomer unanswered: no bulk id to follow. */
export const IN_DOUBT = "inDoubt";

const inDoubtOf = (operations: Operation[]) => operations.filter((operation) => operation.status === IN_DOUBT).flatMap((operation) => operation.customerIds);

/** The error, now naming what was accepted, in doubt and not sent; unchanged when nothing was sent. */
function withProgress(error: unknown, done: Operation[], unsent: PlannedRequest[]): unknown {
  if (!(error instanceof BulkUpdateError) || done.length === 0) return error;
  return error.withProgress({
    acceptedBulkIds: done.filter((operation) => operation.bulkId !== null).map((operation) => operation.bulkId as string),
    inDoubtCustomerIds: inDoubtOf(done),
    unsentCustomerIds: unsent.flatMap((request) => request.customerIds),
  });
}

