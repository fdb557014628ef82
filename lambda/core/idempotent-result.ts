// What the idempotency table keeps of an answer: everything but what the answer repeats, so the
// record of the largest command (MAX_ITEMS, every request in doubt) stays within DynamoDB's 400 KB item.

import type { Operation } from "../contract/results.ts";
import type { RequestResult } from "./process-request.ts";

/** A submit's `inDoubtCustomerIds` repeat its in-doubt operations' customers: kept once. */
export function toRecord(answer: RequestResult): unknown {
  if (answer.kind !== "submitted" && answer.kind !== "dryRun") return answer;
  const { inDoubtCustomerIds: _repeated, ...result } = answer.result;
  return { ...answer, result };
}

export function fromRecord(record: unknown): RequestResult {
  const answer = record as RequestResult;
  if (answer.kind !== "submitted" && answer.kind !== "dryRun") return answer;
  const inDoubtCustomerIds = answer.result.operations.filter(isInDoubt).flatMap((operation) => operation.customerIds);
  return inDoubtCustomerIds.length ? { ...answer, result: { ...answer.result, inDoubtCustomerIds } } : answer;
}

const isInDoubt = (operation: Operation) => operation.bulkId === null && operation.status === "inDoubt";
