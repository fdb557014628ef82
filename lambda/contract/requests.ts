// The requests the function accepts (CONTRACT §1): the bulk-update command of an object (its updates
// are the object's own, objects/), the status request, the workflow's and the job's. Types are inferred
// from these schemas. Written with zod/mini: the same checks and messages as full zod, a fraction of its
// load on a cold start.
import * as z from "zod/mini";
import "./zod-messages.ts";
import { KUSTOMER_BULK_LIMIT, MAX_COMMAND_ITEMS } from "./limits.ts";
import { objectId } from "./objects/fields.ts";
import type { KustomerObject, ObjectUpdate } from "./objects/kustomer-object.ts";
import { OBJECTS } from "./objects/registry.ts";

/** The command's fields, around its updates (`body`), in the order its issues are reported; messages name the object. */
function commandSchema<Body extends z.ZodMiniType>(object: KustomerObject, body: Body) {
  return z.strictObject({
    action: z.optional(z.literal("submit")),
    /** The object the updates are for (objects/registry.ts); customers where it is absent. */
    object: z.optional(z.enum(OBJECTS.map(({ name }) => name) as [string, ...string[]])),
    /** `ids` arrives as "a,b,c" (HTTP query, Kustomer's own form) or as an array. */
    ids: z.optional(
      z.pipe(
        z.transform((value: unknown) => (typeof value === "string" ? value.split(",").map((id) => id.trim()) : value)),
        z.array(objectId).check(z.minLength(1, `must list at least one ${object.name} id`)),
      ),
    ),
    body,
    dryRun: z.optional(z.boolean()),
    /** With the changes table (CONTRACT §2.7): send every update whole, and refresh what is recorded. */
    fullResync: z.optional(z.boolean()),
    /** The caller's own reference, echoed in results and outcome events. */
    correlationId: z.optional(z.string().check(z.regex(/^[\x20-\x7E]{1,128}$/, "must be 1 to 128 printable ASCII characters"))),
  });
}

/** An object's bulk-update command, whole (the OpenAPI document's, and its known fields). */
export function commandSchemaOf(object: KustomerObject) {
  return commandSchema(object, z.array(object.update).check(z.minLength(1, `must hold at least one ${object.name} update`)));
}

/** The command without its updates, which are checked one by one so that checking can stop early. */
export function commandEnvelopeOf(object: KustomerObject) {
  return commandSchema(object, z.array(z.unknown()).check(z.minLength(1, `must hold at least one ${object.name} update`)));
}

/** Kustomer's bulk operation ids, as a submit answers them (bulkId): ObjectIds in practice. */
export const BULK_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const BULK_ID_MESSAGE =
  "must be a Kustomer bulk operation id, as a submit's answer gives it (bulkId): 1 to 64 letters, digits, _ or -, e.g. 5e4c41c8c9f1e7001a5a3b2c";

/** One status read covers a command's operations: a 10,000-item command makes 100. */
const bulkIds = z.array(z.string().check(z.regex(BULK_ID, BULK_ID_MESSAGE))).check(z.minLength(1), z.maxLength(KUSTOMER_BULK_LIMIT));

export const statusRequestSchema = z.strictObject({ action: z.literal("status"), bulkIds });

/**
 * With the changes table (CONTRACT §2.7): which of a command's updates its submit sent, a bitmap in
 * base64 (at most MAX_COMMAND_ITEMS bits); empty, all of them. The workflow carries it between tasks.
 */
export const sentSchema = z.base64().check(z.maxLength(Math.ceil(MAX_COMMAND_ITEMS / 8 / 3) * 4));

/**
 * The workflow's question: are its command's operations all done, and what became of each customer?
 * The command is the execution's input; `requests` names, in the command's plan, each request's bulk
 * id, or null when the submit left it in doubt; `seen` each operation's status on the last read.
 */
export const outcomeRequestSchema = z.strictObject({
  action: z.literal("outcome"),
  command: z.unknown(),
  requests: z.array(z.nullable(z.string().check(z.regex(BULK_ID, BULK_ID_MESSAGE)))).check(z.maxLength(KUSTOMER_BULK_LIMIT)),
  /** When the submit answered (epoch ms): a 404 soon after is Kustomer's lag (CONTRACT §2.6). */
  submittedAt: z.int().check(z.gte(0)),
  seen: z.array(z.nullable(z.string().check(z.maxLength(64)))).check(z.maxLength(KUSTOMER_BULK_LIMIT)),
  /** With the changes table: which of the command's updates the submit sent (a bitmap); empty, all of them. */
  sent: z.optional(sentSchema),
});

/**
 * What the earlier attempts of a workflow's command settled, by each request's place in the plan
 * (CONTRACT §2.6): those Kustomer accepted with a 2xx (with their bulk ids; null when the answer could
 * not be read), never sent again, and those sent with no answer, sent again.
 */
export const settledSchema = z.strictObject({
  accepted: z.array(
    z.strictObject({ request: z.int().check(z.gte(0)), bulkId: z.nullable(z.string().check(z.regex(BULK_ID, BULK_ID_MESSAGE))) }),
  ),
  unanswered: z.array(z.int().check(z.gte(0))),
});

/** A large job's batch (a Distributed Map child's `Items`): each line is checked on its own (CONTRACT §7). */
export const jobBatchSchema = z.strictObject({
  action: z.literal("batch"),
  items: z.array(z.unknown()).check(z.minLength(1), z.maxLength(KUSTOMER_BULK_LIMIT)),
});

/** A checked command, of whichever object it names. */
export type BulkUpdateCommand = Omit<z.infer<ReturnType<typeof commandEnvelopeOf>>, "body"> & { body: ObjectUpdate[] };
export type StatusRequest = z.infer<typeof statusRequestSchema>;
export type OutcomeRequest = z.infer<typeof outcomeRequestSchema>;
export type JobBatch = z.infer<typeof jobBatchSchema>;
export type Settled = z.infer<typeof settledSchema>;
export type BulkRequest = BulkUpdateCommand | StatusRequest | OutcomeRequest | JobBatch;
