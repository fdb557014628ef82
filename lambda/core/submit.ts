// Submitting a bulk update: the planned requests sent a few at a time, each by exactly one worker.

import { BulkUpdateError } from "../contract/errors.ts";
import { KustomerError } from "../contract/kustomer-errors.ts";
import { objectOf } from "../contract/objects/registry.ts";
import type { BulkUpdateCommand, Settled } from "../contract/requests.ts";
import type { Operation, SubmitResult } from "../contract/results.ts";
import { countItems, echo, type PlannedRequest, planRequests, requestBody } from "./plan.ts";
import { inPool } from "./pool.ts";
import type { Accepted, BulkApi, Counters, Log } from "./ports.ts";

export interface BulkDependencies {
  kustomer: BulkApi;
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
 *
 * `earlier` is what earlier attempts of the same command settled (the workflow's resubmission): a
 * request Kustomer accepted is not sent again, only followed; one that went unanswered is sent again.
 */
export async function submitBulkUpdate(
  command: BulkUpdateCommand,
  { kustomer, log, counters, concurrency }: BulkDependencies,
  deadlineAt: number,
  earlier?: Settled,
): Promise<SubmitResult> {
  const planned = planRequests(command);
  const object = objectOf(command);
  const done: Array<Operation | undefined> = new Array(planned.length);
  // Each request's fate so far: accepted with a 2xx (read or not), or sent with no answer.
  const fates: Array<Fate | undefined> = new Array(planned.length);
  for (const { request, bulkId } of earlier?.accepted ?? []) {
    const plan = planned[request];
    if (!plan) continue;
    fates[request] = "accepted";
    // Accepted on an earlier attempt: followed by its bulk id, whose status the follow-up reads.
    done[request] =
      bulkId === null
        ? inDoubt(plan, "Kustomer accepted it on an earlier attempt; its answer could not be read")
        : { bulkId, status: "queued", items: plan.customerIds.length, customerIds: plan.customerIds };
  }
  for (const request of earlier?.unanswered ?? []) if (planned[request] && !fates[request]) fates[request] = "unanswered";

  const send = async (index: number, request: PlannedRequest) => {
    const started = Date.now();
    let accepted: Accepted;
    try {
      accepted = await kustomer.update(object, { ...request.query, body: requestBody(request) }, deadlineAt);
    } catch (error) {
      if (!(error instanceof KustomerError) || !error.inDoubt) throw error;
      fates[index] = isSuccess(error.kustomerStatus) ? "accepted" : "unanswered";
      done[index] = inDoubt(request, `${error.name}: ${error.message}`);
      log.warn("bulk request in doubt: it may have reached Kustomer, with no answer", {
        chunk: index + 1,
        chunks: planned.length,
        items: request.customerIds.length,
        error: error.name,
      });
      return;
    }
    const { bulkId, status, attempts } = accepted;
    const operation = {
      bulkId,
      status,
      items: request.customerIds.length,
      customerIds: request.customerIds,
    };
    fates[index] = "accepted";
    done[index] = operation;
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
  const toSend = planned.flatMap((_, index) => (done[index] ? [] : [index]));
  // After a failure no new request starts: the error then names what was and was not sent.
  const failure = await inPool(
    toSend.length,
    concurrency,
    (slot) => send(toSend[slot] as number, planned[toSend[slot] as number] as PlannedRequest),
    { stopOnFailure: true },
  );
  // Unanswered on an earlier attempt, and not sent again before the failure: still in doubt.
  planned.forEach((request, index) => {
    if (!done[index] && fates[index] === "unanswered") done[index] = inDoubt(request, "an earlier attempt went unanswered");
  });

  const operations = done.filter((operation): operation is Operation => operation !== undefined);
  if (failure)
    throw withProgress(
      failure.error,
      operations,
      planned.filter((_, index) => !done[index]),
      settledOf(fates, done),
    );
  const inDoubtCustomerIds = inDoubtOf(operations);
  return {
    status: "submitted",
    ...echo(command),
    items: countItems(operations),
    operations,
    ...(inDoubtCustomerIds.length ? { inDoubtCustomerIds } : {}),
  };
}

/** An operation whose request may have reached Kustomer unanswered: no bulk id to follow. */
export const IN_DOUBT = "inDoubt";

type Fate = "accepted" | "unanswered";

const isSuccess = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;

const inDoubt = (request: PlannedRequest, reason: string): Operation => ({
  bulkId: null,
  status: IN_DOUBT,
  items: request.customerIds.length,
  customerIds: request.customerIds,
  reason: reason.slice(0, MAX_REASON_LENGTH),
});

/** Kustomer's text can be long: a reason stays a line, so a stored result stays small. */
const MAX_REASON_LENGTH = 300;

const inDoubtOf = (operations: Operation[]) =>
  operations.filter((operation) => operation.status === IN_DOUBT).flatMap((operation) => operation.customerIds);

function settledOf(fates: Array<Fate | undefined>, done: Array<Operation | undefined>): Settled {
  const settled: Settled = { accepted: [], unanswered: [] };
  fates.forEach((fate, request) => {
    if (fate === "accepted") settled.accepted.push({ request, bulkId: done[request]?.bulkId ?? null });
    else if (fate === "unanswered") settled.unanswered.push(request);
  });
  return settled;
}

/** The error, now naming what was accepted, in doubt and not sent; unchanged when nothing was sent. */
function withProgress(error: unknown, done: Operation[], unsent: PlannedRequest[], settled: Settled): unknown {
  if (!(error instanceof BulkUpdateError) || done.length === 0) return error;
  return error.withProgress({
    acceptedBulkIds: done.filter((operation) => operation.bulkId !== null).map((operation) => operation.bulkId as string),
    inDoubtCustomerIds: inDoubtOf(done),
    unsentCustomerIds: unsent.flatMap((request) => request.customerIds),
    settled,
  });
}
