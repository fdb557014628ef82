// What makes a Kustomer object one this service updates in bulk: its names, its update's schema and the
// role an API key needs. The rest is derived here (Kustomer's path, our route, the request events'
// detail type, the changes table's keys), so every part names an object the same way.
import type * as z from "zod/mini";
import type { objectId } from "./fields.ts";

export interface ObjectDefinition {
  /** Singular, in lower case: messages, and the changes table's keys (`customer#<id>`). */
  name: string;
  /** Kustomer's collection: its path (/v1/customers/bulk) and ours (PUT /customers/bulk). */
  plural: string;
  /** As the request events' detail type spells it (Customer Bulk Update Requested). */
  title: string;
  /** One update, strict, keyed by `id` as every Kustomer object is. */
  update: z.ZodMiniObject<{ id: typeof objectId } & z.core.$ZodShape, z.core.$strict>;
  /** The role a key needs to update it: a 403 names it. */
  role: string;
}

export interface KustomerObject extends ObjectDefinition {
  /** Kustomer's bulk-update path. */
  bulkPath: string;
  /** This service's HTTP route (API Gateway's resource path). */
  route: string;
  /** The detail type of the events that ask for its updates (CONTRACT §3.1). */
  detailType: string;
  /** The changes table's key prefix, so a function may be limited to its objects (dynamodb:LeadingKeys). */
  changesKeyPrefix: string;
}

/** One update of any object, once checked: its id, and the fields its schema allowed. */
export type ObjectUpdate = { id: string } & Record<string, unknown>;

const LOWER = /^[a-z]+$/;

export function defineObject(definition: ObjectDefinition): KustomerObject {
  if (!LOWER.test(definition.name) || !LOWER.test(definition.plural) || !/^[A-Z][a-z]+$/.test(definition.title)) {
    throw new TypeError(`an object's name and plural are lower-case letters, its title one capitalised word: ${definition.name}`);
  }
  return Object.freeze({
    ...definition,
    bulkPath: `/v1/${definition.plural}/bulk`,
    route: `/${definition.plural}/bulk`,
    detailType: `${definition.title} Bulk Update Requested`,
    changesKeyPrefix: `${definition.name}#`,
  });
}
