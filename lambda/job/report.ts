// The report of a large job: every line accounted for, as accepted by Kustomer or failed with the
// customer ids and the reason. Fed batch by batch, by the Distributed Map's summary step and by the
// local job runner alike, so it never holds more than the failures.
import type { SubmitResult } from "../results.ts";

export interface JobFailure {
  customerIds: string[];
  error: string;
  reason: string;
}

export interface JobReportJson {
  items: number;
  accepted: number;
  failed: number;
  bulkIds: string[];
  failures: JobFailure[];
}

export class JobReport {
  private items = 0;
  private accepted = 0;
  private readonly bulkIds: string[] = [];
  private readonly failures: JobFailure[] = [];

  /** A batch's answer: what Kustomer accepted, and the lines refused before sending, each alone. */
  addAccepted(result: SubmitResult): void {
    this.items += result.items;
    this.accepted += result.items;
    for (const operation of result.operations) if (operation.bulkId) this.bulkIds.push(operation.bulkId);
    for (const { index, id, reason } of result.rejected ?? []) {
      this.addFailed([id ?? `(line without an id: item ${index + 1} of its batch)`], "ValidationError", reason);
    }
  }

  addFailed(customerIds: string[], error: string, reason: string): void {
    this.items += customerIds.length;
    this.failures.push({ customerIds, error, reason });
  }

  toJSON(): JobReportJson {
    const failed = this.failures.reduce((sum, failure) => sum + failure.customerIds.length, 0);
    return { items: this.items, accepted: this.accepted, failed, bulkIds: this.bulkIds, failures: this.failures };
  }
}

/** Customer ids of a batch's items, whatever else is wrong with them. */
export function customerIdsOf(items: unknown[]): string[] {
  return items.map((item, index) => {
    const id = item && typeof item === "object" ? (item as { id?: unknown }).id : undefined;
    return typeof id === "string" ? id : `(line without an id: item ${index + 1} of its batch)`;
  });
}
