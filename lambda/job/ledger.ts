// What a large job knows of its lines between steps, as plain JSON (kept in S3 on AWS), so each step
// picks up where the last one left off: lines failed one by one, batches that failed whole, and the
// bulk operations Kustomer accepted but has not completed yet.
import { NOT_FOUND } from "../kustomer/status.ts";
import type { OperationStatus } from "../results.ts";
import type { JobBatchResult, LineFailure } from "./batch.ts";

export interface FailedRange {
  first: number;
  last: number;
  reason: string;
}

export interface PendingOperation {
  bulkId: string;
  lines: number[];
  customerIds: string[];
}

export interface JobLedgerState {
  /** Non-blank lines in the file. */
  lines: number;
  /** Lines Kustomer accepted. */
  sent: number;
  /** Lines Kustomer applied. */
  applied: number;
  failures: LineFailure[];
  /** A batch that failed whole: its lines are listed when the report reads the file. */
  failedRanges: FailedRange[];
  pending: PendingOperation[];
}

export class JobLedger {
  readonly state: JobLedgerState;

  constructor(state?: JobLedgerState) {
    this.state = state ?? { lines: 0, sent: 0, applied: 0, failures: [], failedRanges: [], pending: [] };
  }

  addBatch({ rejected, operations, refused }: JobBatchResult): void {
    this.state.failures.push(...rejected);
    if (refused) refused.lines.forEach((line, index) => this.state.failures.push({ line, id: refused.customerIds[index], reason: refused.reason }));
    for (const operation of operations) {
      this.state.pending.push(operation);
      this.state.sent += operation.lines.length;
    }
  }

  failRange(range: Omit<FailedRange, "reason">, reason: string): void {
    this.state.failedRanges.push({ first: range.first, last: range.last, reason });
  }

  get pendingBulkIds(): string[] {
    return this.state.pending.map((operation) => operation.bulkId);
  }

  /**
   * A complete operation: the customers Kustomer failed fail their lines, the others are applied. One
   * Kustomer does not know fails all its lines. Answers whether the operation is settled.
   */
  settle(status: OperationStatus): boolean {
    const index = this.state.pending.findIndex((operation) => operation.bulkId === status.bulkId);
    if (index < 0) return true;
    if (status.status === NOT_FOUND) {
      this.abandonAt(index, `Kustomer knows no bulk operation ${status.bulkId}; sending the line again is safe`);
      return true;
    }
    if (status.status !== "complete") return false;
    const [operation] = this.state.pending.splice(index, 1) as [PendingOperation];
    const lineOf = new Map(operation.customerIds.map((id, position) => [id, operation.lines[position] as number]));
    let failed = 0;
    for (const failure of status.failures) {
      const line = failure.id === null ? undefined : lineOf.get(failure.id.toLowerCase());
      if (line === undefined) continue;
      this.state.failures.push({ line, id: failure.id as string, reason: failure.error });
      lineOf.delete((failure.id as string).toLowerCase());
      failed += 1;
    }
    this.state.applied += operation.lines.length - failed;
    return true;
  }

  /** Operations still not complete when the job stops waiting: their lines are failures, safe to send again. */
  abandon(reason: (bulkId: string) => string): void {
    while (this.state.pending.length > 0) this.abandonAt(0, reason((this.state.pending[0] as PendingOperation).bulkId));
  }

  private abandonAt(index: number, reason: string): void {
    const [operation] = this.state.pending.splice(index, 1) as [PendingOperation];
    operation.lines.forEach((line, position) => this.state.failures.push({ line, id: operation.customerIds[position], reason }));
  }
}
