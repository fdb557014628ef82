// What a large job knows of its lines between steps (CONTRACT §2.6, §7), kept so that no step holds a
// line's data for the whole job: each batch of 100 lines has its own file (results/<run>/batches/), and
// the run's ledger (results/<run>/ledger.json) holds one small entry a batch, with its counts and the
// bulk operations still to follow.

import { REJECTED } from "../contract/names.ts";
import type { CustomerFailure, OperationStatus } from "../contract/results.ts";
import { account } from "../core/accounting.ts";
import type { FieldHashes } from "../core/changes.ts";

/** A line's state when it is not applied (CONTRACT §2.6). */
export type LineState = "failed" | "inDoubt" | "unsent";

export interface LineOutcome {
  line: number;
  /** The line's customer id, where it had one. */
  id?: string;
  state: LineState;
  reason: string;
}

export interface StateCounts {
  applied: number;
  failed: number;
  inDoubt: number;
  unsent: number;
}

/** A bulk operation Kustomer accepted, with the lines it carries, in the same order as their customers. */
export interface PendingOperation {
  bulkId: string;
  lines: number[];
  customerIds: string[];
  /** With the changes table: the hashes each customer's request carried, to make current once applied. */
  hashes?: FieldHashes[];
}

/** One batch's file: every line that is not applied, and the operations not settled yet. */
export interface BatchFile {
  first: number;
  last: number;
  outcomes: LineOutcome[];
  pending: PendingOperation[];
}

/** What the ledger follows of an operation: a few numbers, not its lines. */
export interface FollowedOperation {
  bulkId: string;
  items: number;
  /** When Kustomer accepted it (epoch ms): a 404 soon after is Kustomer's lag, not an answer. */
  acceptedAt: number;
  /** The status the last read saw: an undocumented one seen twice settles the operation. */
  lastStatus?: string;
}

/** What a Distributed Map child answers: small, whatever its lines hold. */
export interface BatchSummary extends StateCounts {
  first: number;
  /** Lines in operations Kustomer accepted. */
  sent: number;
  /** Lines not sent: Kustomer already holds their values (CONTRACT §2.7). */
  unchanged?: number;
  pending: FollowedOperation[];
}

export interface LedgerBatch extends BatchSummary {
  last: number;
  count: number;
  /** A batch with no file: every line of it in one state, for one reason. */
  whole?: { state: LineState; reason: string };
  /** With the changes table, a batch with no file: the lines it was to send (the rest are unchanged). */
  sends?: number[];
}

export interface Ledger {
  lines: number;
  batches: LedgerBatch[];
  /** The job file's version the run planned: the report reads that one or none. */
  version?: string;
}

export const zeroCounts = (): StateCounts => ({ applied: 0, failed: 0, inDoubt: 0, unsent: 0 });

export function count(counts: StateCounts, state: LineState | "applied", lines = 1): void {
  counts[state] += lines;
}

/** The totals of the whole run. */
export function totalsOf(ledger: Ledger): StateCounts & { sent: number; unchanged: number } {
  const totals = { ...zeroCounts(), sent: 0, unchanged: 0 };
  for (const batch of ledger.batches) {
    for (const state of ["applied", "failed", "inDoubt", "unsent"] as const) totals[state] += batch[state];
    totals.sent += batch.sent;
    totals.unchanged += batch.unchanged ?? 0;
  }
  return totals;
}

/** What a complete operation says of its lines (core/accounting.ts), and of those its status left in doubt. */
export function accountFor(operation: PendingOperation, status: OperationStatus): { outcomes: LineOutcome[]; applied: number } {
  const { failed, inDoubt } = account(operation.customerIds, {
    successCount: status.successCount,
    failures: status.failures,
    appliedIds: [],
  });
  const lineOf = new Map(operation.customerIds.map((id, position) => [id.toLowerCase(), operation.lines[position] as number]));
  const doubted = new Set([...inDoubt, ...status.inDoubtCustomerIds].map((id) => id.toLowerCase()));
  for (const { id } of failed) doubted.delete(id.toLowerCase());
  const reason = `Kustomer reported bulk operation ${status.bulkId} complete with ${status.successCount ?? "no"} updated and ${status.failureCount ?? "no"} failed of ${operation.lines.length}, without naming which`;
  const outcomes: LineOutcome[] = [
    ...failed.map((failure) => ({
      line: lineOf.get(failure.id.toLowerCase()) as number,
      id: failure.id,
      state: "failed" as const,
      reason: reasonOf(failure),
    })),
    ...operation.customerIds
      .filter((id) => doubted.has(id.toLowerCase()))
      .map((id) => ({ line: lineOf.get(id.toLowerCase()) as number, id, state: "inDoubt" as const, reason })),
  ];
  return { outcomes, applied: operation.lines.length - outcomes.length };
}

/** Every line of an operation in one state. */
export function allLines(operation: PendingOperation, state: LineState, reason: string): LineOutcome[] {
  return operation.lines.map((line, position) => ({ line, id: operation.customerIds[position], state, reason }));
}

/** A report is the operator's: it keeps Kustomer's own words (masked) beside its code. */
function reasonOf({ error, detail }: CustomerFailure): string {
  if (detail === undefined) return error;
  return error === REJECTED ? detail : `${error}: ${detail}`;
}
