// The outcome of a command's bulk operations, as the workflow announces it (CONTRACT §3.2): what
// Kustomer accounts for as applied and failed over every operation, each failed customer with
// Kustomer's reason, and the customers in doubt: those the submit left so, those no answer names, and
// those of an operation Kustomer stopped reporting (CONTRACT §2.6).

import { InternalError } from "../contract/errors.ts";
import type { BulkUpdateCommand, OutcomeRequest } from "../contract/requests.ts";
import type { CustomerFailure, OutcomeResult } from "../contract/results.ts";
import { type ChangeLedger, sentOf } from "./changes.ts";
import { type CustomerState, followedCustomers, keepChanges, statesOf } from "./keep-changes.ts";
import { listForEvent } from "./listed.ts";
import { planRequests } from "./plan.ts";
import type { ListStore } from "./ports.ts";
import type { BulkDependencies } from "./submit.ts";
import { verdictOf } from "./verdict.ts";

export interface OutcomeDependencies extends BulkDependencies {
  /** Where a failure list too long for the event is kept. */
  listStore?: ListStore;
  /** How long a recorded bulk id may read 404 before its customers are in doubt. */
  notFoundGraceMs: number;
  now?: () => number;
  /** What Kustomer last applied (CONTRACT §2.7): only changes are sent when it is set. */
  changes?: ChangeLedger;
}

export async function readOutcome(
  request: OutcomeRequest,
  command: BulkUpdateCommand,
  services: OutcomeDependencies,
  deadlineAt: number,
): Promise<OutcomeResult> {
  // With the changes table, the requests carried only the updates the submit sent.
  const sent = request.sent ? sentOf(command, request.sent) : command;
  const planned = sent ? planRequests(sent) : [];
  if (planned.length !== request.requests.length) {
    throw new InternalError(`the workflow named ${request.requests.length} requests for a command of ${planned.length}`);
  }
  const followed = request.requests.flatMap((bulkId, index) => (bulkId === null ? [] : [{ bulkId, index }]));
  const read = await services.kustomer.read(
    followed.map(({ bulkId }) => bulkId),
    deadlineAt,
    services.concurrency,
  );
  const now = (services.now ?? Date.now)();
  const seen: Array<string | null> = request.requests.map(() => null);
  const incomplete: OutcomeResult["incomplete"] = [];
  const failures: CustomerFailure[] = [];
  /** What each followed operation made of its customers, for the changes table. */
  const kept: Array<{ bulkId: string; index: number; states: Map<string, CustomerState> }> = [];
  // The submit's own in-doubt requests first, in the command's order.
  const doubted = request.requests.flatMap((bulkId, index) => (bulkId === null ? (planned[index]?.customerIds ?? []) : []));
  let applied = 0;
  let failed = 0;
  read.forEach(({ status, applied: appliedCount, failed: failedCount }, position) => {
    const { bulkId, index } = followed[position] as (typeof followed)[number];
    seen[index] = status.status;
    const verdict = verdictOf(
      status.status,
      { bulkId, recordedAt: request.submittedAt, previous: request.seen[index] },
      now,
      services.notFoundGraceMs,
    );
    if (verdict.kind === "waiting") incomplete.push({ bulkId, status: status.status });
    else if (verdict.kind === "lost") {
      services.log.warn("bulk operation lost: its customers are in doubt", {
        bulkId,
        status: status.status,
        items: planned[index]?.customerIds.length,
      });
      doubted.push(...(planned[index]?.customerIds ?? []));
      kept.push({ bulkId, index, states: new Map() });
    } else {
      kept.push({ bulkId, index, states: statesOf(planned[index]?.customerIds ?? [], status) });
      applied += appliedCount;
      failed += failedCount;
      failures.push(...status.failures);
      doubted.push(...status.inDoubtCustomerIds);
    }
  });
  const allComplete = incomplete.length === 0;
  const counts = { applied, failed, inDoubt: doubted.length };
  if (!allComplete) return { allComplete, incomplete, seen, ...counts, failures: [], inDoubtCustomerIds: [] };
  if (services.changes) {
    const context = { ledger: services.changes, log: services.log, counters: services.counters, deadlineAt };
    for (const { bulkId, index, states } of kept) {
      const request = planned[index];
      try {
        const customers = await followedCustomers(bulkId, request?.customerIds ?? [], states, context, request?.items);
        await keepChanges(bulkId, customers, context);
      } catch (error) {
        services.counters.count("ChangesNotKept");
        services.log.warn("the changes table could not be read", { bulkId, error: (error as Error).name });
      }
    }
  }
  const listedFailures = await listForEvent(failures, services.listStore, "failures");
  const listedDoubts = await listForEvent(doubted, services.listStore, "in-doubt-customer-ids");
  return {
    allComplete,
    incomplete,
    seen,
    ...counts,
    // Events carry the reason's code only: Kustomer's words stay in the list kept in S3.
    failures: listedFailures.listed.map(({ id, error }) => ({ id, error })),
    ...(listedFailures.object ? { failuresObject: listedFailures.object } : {}),
    inDoubtCustomerIds: listedDoubts.listed,
    ...(listedDoubts.object ? { inDoubtCustomerIdsObject: listedDoubts.object } : {}),
  };
}
