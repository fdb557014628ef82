// The sandbox's records, by collection as Kustomer's paths name them (`customers` in
// /v1/customers/bulk): the customers it starts with, and any other object's records a test adds.

/** One record of any object: its id, and its fields. */
export type Customer = Record<string, unknown> & { id: string };

/** Customers the sandbox starts with, so the first request has something to update. */
export const SEED_CUSTOMERS = [
  { id: "5e4c41c8c9f1e7001a5a3b2c", name: "Ada Lovelace", emails: [{ email: "ada@example.com", type: "work" }], tags: [] },
  { id: "5e4c41c8c9f1e7001a5a3b2d", name: "Grace Hopper", emails: [{ email: "grace@example.com", type: "work" }], tags: [] },
  { id: "5e4c41c8c9f1e7001a5a3b2e", name: "Alan Turing", emails: [{ email: "alan@example.com", type: "home" }], tags: [] },
  { id: "5e4c41c8c9f1e7001a5a3b2f", name: "Katherine Johnson", phones: [{ phone: "+15550100", type: "mobile" }], tags: [] },
  { id: "5e4c41c8c9f1e7001a5a3b30", name: "Edsger Dijkstra", company: "Eindhoven", tags: ["beta"] },
];

/** customers: customer; companies: company. */
export const singularOf = (collection: string) =>
  collection.endsWith("ies") ? `${collection.slice(0, -3)}y` : collection.replace(/s$/, "");

export class SandboxRecords {
  private readonly collections = new Map<string, Map<string, Customer>>();

  /** A collection's records, made empty on first use. */
  of(collection: string): Map<string, Customer> {
    let records = this.collections.get(collection);
    if (!records) this.collections.set(collection, (records = new Map()));
    return records;
  }

  /** A collection's record, where there is one; a collection never asked for is not made. */
  find(collection: string, id: string): Customer | undefined {
    return this.collections.get(collection)?.get(id);
  }

  add(collection: string, records: Array<Partial<Customer> & { id: string }>): void {
    for (const record of records) this.of(collection).set(record.id, structuredClone(record) as Customer);
  }
}
