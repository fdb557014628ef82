// Sending only what changed (CONTRACT §2.7), with no I/O: each top-level field of an update, and each
// `custom` attribute apart, reduced to a short hash; compared with the hashes Kustomer last applied;
// and the update cut down to its id and the fields that differ. The port the hashes are kept behind is
// here too (the DynamoDB table in adapters/aws/changes-table.ts).
import { createHash } from "node:crypto";
import type { KustomerObject, ObjectUpdate } from "../contract/objects/kustomer-object.ts";
import type { BulkUpdateCommand } from "../contract/requests.ts";
import type { Counters, Log } from "./ports.ts";

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
  /** What is pending for those of `ids` that have anything pending, and under which bulk id. */
  pendingOf(ids: string[], deadlineAt: number): Promise<Map<string, { bulkId: string; hashes: FieldHashes }>>;
  /** Sent and accepted as `bulkId`: pending until the follow-up reads them. */
  pending(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void>;
  /** Read applied: their pending hashes become current, where the pending record still names `bulkId`. */
  applied(bulkId: string, customers: SentCustomer[], deadlineAt: number): Promise<void>;
  /** Read failed: their pending hashes are dropped; the current ones stand. */
  failed(bulkId: string, ids: string[], deadlineAt: number): Promise<void>;
  /** In doubt: the fields sent may have landed, so their current hashes are dropped too. */
  inDoubt(customers: SentCustomer[], deadlineAt: number): Promise<void>;
  /** The same ledger for another object's records, each object's under keys of its own. */
  of(object: KustomerObject): ChangeLedger;
}

/** The key of a `custom` attribute among the fields. */
const CUSTOM = "custom.";

export function fieldHashes(update: ObjectUpdate): FieldHashes {
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

/** Whole only with no record at all: a whole send starts the record (and its time to live) again. */
export function compare(hashes: FieldHashes, current: FieldHashes | undefined): Change {
  if (!current) return { kind: "whole" };
  const changed = Object.keys(hashes).filter((field) => current[field] !== hashes[field]);
  return changed.length === 0 ? { kind: "unchanged" } : { kind: "fields", fields: changed };
}

/** The update cut down to its id and the named fields; `custom` keeps only its named attributes. */
export function reduce(update: ObjectUpdate, fields: string[]): ObjectUpdate {
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
  return reduced as ObjectUpdate;
}

/** The hashes of those fields only. */
export function pick(hashes: FieldHashes, fields: string[] | undefined): FieldHashes {
  if (!fields) return hashes;
  return Object.fromEntries(fields.flatMap((field) => (hashes[field] === undefined ? [] : [[field, hashes[field]]])));
}

/** What a command sends once compared: changed customers only, each cut down to its changed fields. */
export interface CommandChanges {
  command: BulkUpdateCommand | undefined;
  /** Which of the command's updates go out, as a bitmap: the follow-up finds them again (`sentOf`). */
  sent: string;
  unchanged: number;
  /** Each sent customer's hashes, of the fields it carries. */
  customers: SentCustomer[];
  /** Per sent customer, in order: the fields it carries (CONTRACT §2.7's dry run). */
  fields: string[][];
}

export interface CompareContext {
  deadlineAt: number;
  log: Log;
  counters: Counters;
}

/**
 * Compares a command's updates with what Kustomer last applied: one table read per 100 customers. A
 * full resync, or a table that cannot be read, sends every update whole (never skip on doubt).
 */
export async function compareCommand(
  command: BulkUpdateCommand,
  ledger: ChangeLedger,
  { deadlineAt, log, counters }: CompareContext,
): Promise<CommandChanges> {
  const hashes = command.body.map(fieldHashes);
  let current = new Map<string, FieldHashes>();
  if (!command.fullResync) {
    try {
      current = await ledger.current(
        command.body.map(({ id }) => id),
        deadlineAt,
      );
    } catch (error) {
      counters.count("ChangesNotKept");
      log.warn("the changes table could not be read: every customer is sent whole", {
        items: command.body.length,
        error: (error as Error).name,
      });
    }
  }
  const flags: boolean[] = [];
  const body: ObjectUpdate[] = [];
  const customers: SentCustomer[] = [];
  const fields: string[][] = [];
  command.body.forEach((update, index) => {
    const own = hashes[index] as FieldHashes;
    const change = command.fullResync ? ({ kind: "whole" } as const) : compare(own, current.get(update.id.toLowerCase()));
    flags.push(change.kind !== "unchanged");
    if (change.kind === "unchanged") return;
    const only = change.kind === "fields" ? change.fields : undefined;
    body.push(only ? reduce(update, only) : update);
    customers.push({ id: update.id, hashes: pick(own, only), whole: only === undefined });
    fields.push(only ?? Object.keys(own));
  });
  const unchanged = command.body.length - body.length;
  if (unchanged > 0) counters.count("CustomersUnchanged", unchanged);
  const { fullResync: _, ...rest } = command;
  return { command: body.length > 0 ? { ...rest, body } : undefined, sent: encodeFlags(flags), unchanged, customers, fields };
}

/** The updates a comparison sent, whole, in their order: what a follow-up or a resubmission plans with. */
export function sentOf(command: BulkUpdateCommand, sent: string): BulkUpdateCommand | undefined {
  const flags = sentFlags(sent, command.body.length);
  const body = command.body.filter((_, index) => flags[index]);
  return body.length > 0 ? { ...command, body } : undefined;
}

function encodeFlags(flags: boolean[]): string {
  const bytes = Buffer.alloc(Math.ceil(flags.length / 8));
  flags.forEach((flag, index) => {
    if (flag) bytes[index >> 3] = (bytes[index >> 3] as number) | (1 << (index & 7));
  });
  return bytes.toString("base64");
}

/** Which of `count` updates the bitmap names; empty, all of them: no comparison was made. */
export function sentFlags(text: string, count: number): boolean[] {
  if (text === "") return Array.from({ length: count }, () => true);
  const bytes = Buffer.from(text, "base64");
  return Array.from({ length: count }, (_, index) => (((bytes[index >> 3] ?? 0) >> (index & 7)) & 1) === 1);
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
