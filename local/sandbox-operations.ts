// The sandbox's bulk operations, as Kustomer keeps them: made from a PUT to an object's collection,
// queued, running, then applied to its records (one it does not know fails), and read back as a resource and its
// batch, with per-customer results when `_clientRef` was sent.
import { randomBytes } from "node:crypto";
import { type Customer, singularOf } from "./sandbox-records.ts";

/**
 * Customers a sandbox that knows every customer remembers: a forgotten one is made again on its next
 * update, so a local job of millions of lines keeps the sandbox, in the job's own process, small.
 */
const MAX_REMEMBERED_CUSTOMERS = 20_000;

interface ItemResult {
  _clientRef?: string;
  objectId: string;
  status: "updated" | "error";
  error?: string;
}

export interface BulkOperation {
  id: string;
  /** The object's collection, as in its path: /v1/customers/bulk. */
  collection: string;
  createdAt: number;
  customerIds: string[];
  updates: Array<Record<string, unknown>>;
  idsMode: boolean;
  /** Each customer's _clientRef (the same string as its id where they are equal), when sent. */
  refs?: Array<string | undefined>;
  /** Once applied: the customers it failed, by position, with the reason. Kept this small for long jobs. */
  failed?: Map<number, string>;
}

/** A bulk update as Kustomer takes it, or the reason it refuses it. */
export function operationOf(collection: string, url: URL, body: unknown, now: number): BulkOperation | string {
  if (!Array.isArray(body) || body.length === 0 || body.length > 100) return `body must be an array of 1 to 100 ${collection}`;
  const updates = body as Array<Record<string, unknown>>;
  const ids = url.searchParams.get("ids");
  const customerIds = ids ? ids.split(",") : updates.map((update) => String(update.id));
  if (customerIds.length > 100) return "at most 100 ids";
  const refs = updates.map((update) => update._clientRef);
  if (!ids && refs.some((ref) => ref !== undefined) && refs.some((ref) => typeof ref !== "string" || ref === "" || ref.length > 255)) {
    return "_clientRef must be on every item, a non-empty string of at most 255 characters";
  }
  const operation: BulkOperation = {
    id: randomBytes(12).toString("hex"),
    collection,
    createdAt: now,
    customerIds,
    updates,
    idsMode: Boolean(ids),
    ...(!ids && refs.some((ref) => ref !== undefined)
      ? { refs: refs.map((ref, index) => (ref === customerIds[index] ? customerIds[index] : (ref as string))) }
      : {}),
  };
  return operation;
}

export function statusOf(operation: BulkOperation, now: number, applyAfterMs: number): "queued" | "running" | "complete" {
  const age = now - operation.createdAt;
  if (age >= applyAfterMs) return "complete";
  return age >= applyAfterMs / 2 ? "running" : "queued";
}

/** Applies the operation to the customers: the data changes only then, as with Kustomer. */
export function apply(operation: BulkOperation, customers: Map<string, Customer>, knowsEveryCustomer: boolean): void {
  operation.failed = new Map();
  operation.customerIds.forEach((objectId, index) => {
    const update = operation.idsMode ? operation.updates[0] : operation.updates[index];
    const { id: _id, _clientRef, ...fields } = update ?? {};
    if (knowsEveryCustomer && !customers.has(objectId)) {
      customers.set(objectId, { id: objectId });
      if (customers.size > MAX_REMEMBERED_CUSTOMERS) customers.delete(customers.keys().next().value as string);
    }
    const customer = customers.get(objectId);
    if (!customer) return operation.failed?.set(index, `${singularOf(operation.collection)} not found`);
    Object.assign(customer, fields);
  });
  operation.updates = [];
}

/** Its per-customer results, as Kustomer lists them, made when asked for rather than kept. */
function resultsOf(operation: BulkOperation): ItemResult[] {
  return operation.customerIds.map((objectId, index) => {
    const ref = operation.refs?.[index];
    const error = operation.failed?.get(index);
    return {
      ...(ref ? { _clientRef: ref } : {}),
      objectId,
      ...(error ? { status: "error" as const, error } : { status: "updated" as const }),
    };
  });
}

export function bulkResource(operation: BulkOperation, status: "queued" | "running" | "complete") {
  return {
    type: "bulk",
    id: operation.id,
    attributes: {
      status,
      ids: operation.customerIds,
      v2: true,
      completed: status === "complete",
      batches: { complete: status === "complete" ? 1 : 0, total: 1 },
    },
  };
}

/** The operation's batches, as Kustomer answers GET /v1/bulk/{id}/batches. */
export function batchesOf(operation: BulkOperation) {
  const results = operation.failed ? resultsOf(operation) : [];
  const failed = results.filter((result) => result.status === "error");
  const hasRefs = results.some((result) => result._clientRef !== undefined);
  return {
    data: [
      {
        type: "batch",
        id: `${operation.id}-1`,
        attributes: {
          status: operation.failed ? "complete" : "queued",
          objectIds: operation.customerIds,
          successCount: results.length - failed.length,
          failureCount: failed.length,
          // Without _clientRef Kustomer gives no per-item results, only errors.
          ...(hasRefs
            ? { errors: [], results }
            : { errors: failed.map((result) => ({ objectId: result.objectId, message: result.error })) }),
        },
      },
    ],
  };
}
