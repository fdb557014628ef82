// What a submit sent, kept in the change ledger (CONTRACT §2.7): pending under its bulk id once
// Kustomer accepted it, and the fields' current hashes dropped when it is in doubt. A table that fails
// is logged and counted, and the submit goes on: the next run then sends those customers again.

import type { ChangeLedger, FieldHashes, SentCustomer } from "./changes.ts";
import type { Counters, Log } from "./ports.ts";

export interface RecorderContext {
  ledger: ChangeLedger;
  counters: Counters;
  log: Log;
  deadlineAt: number;
}

export class ChangeRecorder {
  private readonly sent = new Map<string, SentCustomer>();

  constructor(private readonly context: RecorderContext) {}

  /** The customers about to be sent, with the hashes of what each carries. */
  know(customers: SentCustomer[]): void {
    for (const customer of customers) {
      this.sent.set(customer.id.toLowerCase(), customer);
      this.context.counters.count("FieldsSent", Object.keys(customer.hashes).length);
    }
  }

  /** Accepted as `bulkId`: the hashes each of them carried, pending. */
  async pending(bulkId: string, customerIds: string[]): Promise<FieldHashes[]> {
    const customers = this.of(customerIds);
    await this.kept("pending", () => this.context.ledger.pending(bulkId, customers, this.context.deadlineAt));
    return customers.map(({ hashes }) => hashes);
  }

  async inDoubt(customerIds: string[]): Promise<void> {
    if (customerIds.length === 0) return;
    await this.kept("inDoubt", () => this.context.ledger.inDoubt(this.of(customerIds), this.context.deadlineAt));
  }

  private of(customerIds: string[]): SentCustomer[] {
    return customerIds.map((id) => this.sent.get(id.toLowerCase()) ?? { id, hashes: {} });
  }

  private async kept(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.context.counters.count("ChangesNotKept");
      this.context.log.warn("the changes table could not be written: the next run sends these customers again", {
        what,
        error: (error as Error).name,
      });
    }
  }
}
