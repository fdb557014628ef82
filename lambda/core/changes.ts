// Sending only what changed (CONTRACT §2.7), with no I/O: each top-level field of an update, and each
// `custom` attribute apart, reduced to a short hash; compared with the hashes Kustomer last applied;
// and the update cut down to its id and the fields that differ. The port the hashes are kept behind is
// here too (the DynamoDB table in adapters/aws/changes-table.ts).
import { createHash } from "node:crypto";
import type { CustomerUpdate } from "../contract/requests.ts";

/** A field's name (`name`, `custom.tierStr`) and the hash of its value. */
export type FieldHashes = Record<string, string>;

/** What a comparison decided of one update: not sent, sent whole, or sent with these fields only. */
export type Change = { kind: "unchanged" } | { kind: "whole" } | { kind: "fields"; fields: string[] };

/** A request's fate, as the change ledger needs it: the hashes it carried, per customer. */
export interface SentCustomer {
  id: string;
  hashes: FieldHashes;
  /** Sent whole (no current record): the record's time to live starts again. */
  whole?: boolean;
}

/**
 * The hashes Kustomer last applied, per customer, and those sent and not yet known applied. A value is
 * current only once the follow-up read it applied; anything in doubt is dropped, so it is sent again.
 */
export interface ChangeLedger {
  /** The current hashes of those of `ids` that have any. */
  current(ids: string[], deadlineAt: number): Promise<Map<string, FieldHashes>>;
  /** Sent and accepted as `bulkId`: pending until the follow-up reads them. */
  pending(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void>;
  /** Read applied: their pending hashes become current, where the pending record still names `bulkId`. */
  applied(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void>;
  /** Read failed: their pending hashes are dropped; the current ones stand. */
  failed(bulkId: string, ids: string[], deadlineAt: number): Promise<void>;
  /** In doubt: the fields sent may have landed, so their current hashes are dropped too. */
  inDoubt(customers: SentCustomer[], deadlineAt: number): Promise<void>;
}

/** The key of a `custom` attribute among the fields. */
const CUSTOM = "custom.";

export function fieldHashes(update: CustomerUpdate): FieldHashes {
  const hashes: FieldHashes = {};
  for (const [field, value] of Object.entries(update)) {
    if (field === "id" || value === undefined) continue;
    if (field === "custom" && value !== null && typeof value === "object") {
      for (const [attribute, attributeValue] of Object.entries(value)) {
        if (attributeValue !== undefined) hashes[`${CUSTOM}${attribute}`] = hashOf(attributeValue);
      }
    } else hashes[field] = hashOf(value);
  }
  return hashes;
}

export function compare(hashes: FieldHashes, current: FieldHashes | undefined): Change {
  const fields = Object.keys(hashes);
  if (!current) return { kind: "whole" };
  const changed = fields.filter((field) => current[field] !== hashes[field]);
  if (changed.length === 0) return { kind: "unchanged" };
  return changed.length === fields.length ? { kind: "whole" } : { kind: "fields", fields: changed };
}

/** The update cut down to its id and the named fields; `custom` keeps only its named attributes. */
export function reduce(update: CustomerUpdate, fields: string[]): CustomerUpdate {
  const reduced: Record<string, unknown> = { id: update.id };
  const custom: Record<string, unknown> = {};
  const source = update as Record<string, unknown>;
  for (const field of fields) {
    if (field.startsWith(CUSTOM)) {
      const attribute = field.slice(CUSTOM.length);
      custom[attribute] = (update.custom as Record<string, unknown> | undefined)?.[attribute];
    } else reduced[field] = source[field];
  }
  if (Object.keys(custom).length > 0) reduced.custom = custom;
  return reduced as CustomerUpdate;
}

/** The hashes of those fields only. */
export function pick(hashes: FieldHashes, fields: string[] | undefined): FieldHashes {
  if (!fields) return hashes;
  return Object.fromEntries(fields.flatMap((field) => (hashes[field] === undefined ? [] : [[field, hashes[field]]])));
}

/** 96 bits of SHA-256 over the value with its keys sorted: the same value always hashes the same. */
function hashOf(value: unknown): string {
  return createHash("sha256").update(canonical(value)).digest("base64url").slice(0, 16);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
