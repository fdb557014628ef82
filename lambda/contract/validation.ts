// Checking a request against the schemas (requests.ts): every problem found at once, told as
// issues.ts tells them, bounded so a hostile request cannot make the answer huge; and a large job's
// batch, checked line by line.
import * as z from "zod/mini";
import { MAX_ISSUES_IN_MESSAGE, MAX_LISTED_ISSUES, type ValidationIssue, validationErrorOf } from "./errors.ts";
import { issuesOf } from "./issues.ts";
import type { KustomerObject, ObjectUpdate } from "./objects/kustomer-object.ts";
import { DEFAULT_OBJECT, namedObject, OBJECTS, objectNamed } from "./objects/registry.ts";
import {
  type BulkRequest,
  type BulkUpdateCommand,
  commandEnvelopeOf,
  type JobBatch,
  jobBatchSchema,
  type OutcomeRequest,
  outcomeRequestSchema,
  type StatusRequest,
  statusRequestSchema,
} from "./requests.ts";

/** Distinct field lists checked by a schema of their own; a hostile mix beyond that takes the whole one. */
const MAX_PICKED_SCHEMAS = 64;
const pickedSchemas = new Map<string, z.ZodMiniType<ObjectUpdate>>();

/**
 * The update schema picked to the fields an update carries. zod runs every one of the schema's
 * fields (a customer's 32) on every update, present or not, and an update usually carries a handful:
 * picked, the checks, messages and output are the same, at a fraction of the work. `id` is always
 * checked (it is required), and an unknown field takes the whole schema, which names it.
 */
function updateSchemaFor(object: KustomerObject, item: unknown): z.ZodMiniType<ObjectUpdate> {
  const whole = object.update as unknown as z.ZodMiniType<ObjectUpdate>;
  if (typeof item !== "object" || item === null || Array.isArray(item)) return whole;
  const fields = Object.keys(item);
  if (!fields.every((field) => Object.hasOwn(object.update.shape, field))) return whole;
  const signature = `${object.name}:${fields.join()}`;
  let schema = pickedSchemas.get(signature);
  if (!schema) {
    if (pickedSchemas.size >= MAX_PICKED_SCHEMAS) return whole;
    const mask: Record<string, true> = { id: true };
    for (const field of fields) mask[field] = true;
    schema = z.pick(object.update, mask) as unknown as z.ZodMiniType<ObjectUpdate>;
    pickedSchemas.set(signature, schema);
  }
  return schema;
}

/** A line of a batch that cannot be sent, and why: it fails alone, the others go. */
export interface RejectedItem {
  /** Its place in the batch, from 0. */
  index: number;
  id?: string;
  reason: string;
}

/**
 * Splits a batch into the command of its valid items and the items refused, each with the first
 * problems found (a line is at most one update, so its reason stays short).
 */
export function splitBatch(items: unknown[], object = DEFAULT_OBJECT): { command?: BulkUpdateCommand; rejected: RejectedItem[] } {
  const body: ObjectUpdate[] = [];
  const rejected: RejectedItem[] = [];
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    const rawId = (item as { id?: unknown } | null)?.id;
    const id = typeof rawId === "string" ? rawId : undefined;
    const reject = (issues: ValidationIssue[]) => {
      const reason = issues
        .slice(0, MAX_ISSUES_IN_MESSAGE)
        .map((issue) => `${issue.path || "(line)"}: ${issue.message}`)
        .join("; ");
      rejected.push({ index, ...(id === undefined ? {} : { id }), reason });
    };
    const parsed = updateSchemaFor(object, item).safeParse(item);
    if (!parsed.success) {
      reject(issuesOf(parsed.error, [], object));
    } else if (seen.has(parsed.data.id)) {
      // Sent together, two lines for one customer would make Kustomer's outcome ambiguous.
      reject([{ path: "id", message: `is the same ${object.name} as an earlier line of its batch` }]);
    } else {
      seen.add(parsed.data.id);
      body.push(parsed.data);
    }
  }
  return { command: body.length > 0 ? { ...namedObject(object), body } : undefined, rejected };
}

/** The first MAX_LISTED_ISSUES issues, and how many were found in all. */
class IssueList {
  readonly listed: ValidationIssue[] = [];
  count = 0;

  add(issues: ValidationIssue[]): void {
    this.count += issues.length;
    this.listed.push(...issues.slice(0, MAX_LISTED_ISSUES - this.listed.length));
  }

  get full(): boolean {
    return this.listed.length >= MAX_LISTED_ISSUES;
  }
}

/** Ids that must be unique across a list: the second and later occurrences are reported. */
function duplicateIssues(ids: unknown[], pathOf: (index: number) => string): ValidationIssue[] {
  const firstSeen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  ids.forEach((id, index) => {
    if (typeof id !== "string") return;
    const key = id.toLowerCase();
    const first = firstSeen.get(key);
    if (first === undefined) firstSeen.set(key, index);
    else issues.push({ path: pathOf(index), message: `duplicate of ${pathOf(first)}` });
  });
  return issues;
}

/** Rules across fields, checked on the raw input so they are reported together with the field rules. */
function crossFieldIssues(input: Record<string, unknown>): ValidationIssue[] {
  const body = Array.isArray(input.body) ? input.body : [];
  const bodyIds = body.map((item) => (item && typeof item === "object" ? (item as { id?: unknown }).id : undefined));
  const issues = duplicateIssues(bodyIds, (index) => `body[${index}].id`);

  const rawIds = input.ids;
  const ids = typeof rawIds === "string" ? rawIds.split(",").map((id) => id.trim()) : rawIds;
  if (Array.isArray(ids)) {
    issues.push(...duplicateIssues(ids, (index) => `ids[${index}]`));
    // With ids, Kustomer applies the same data to every listed customer: one update, one of the ids.
    if (body.length > 1) {
      issues.push({ path: "body", message: "with ids, body must hold exactly one update, applied to every listed id" });
    } else if (typeof bodyIds[0] === "string") {
      const listed = ids.some((id) => typeof id === "string" && id.toLowerCase() === (bodyIds[0] as string).toLowerCase());
      if (!listed) issues.push({ path: "body[0].id", message: "must be one of ids" });
    }
  }
  return issues;
}

/** Each object's command without its items, which are checked one by one so that checking can stop early. */
const ENVELOPES = new Map(OBJECTS.map((object) => [object.name, commandEnvelopeOf(object)]));

/** The requests other than a command; a Map, so no `action` can reach Object's prototype. */
const ACTION_SCHEMAS = new Map<unknown, z.ZodMiniType<StatusRequest | OutcomeRequest | JobBatch>>([
  ["status", statusRequestSchema],
  ["outcome", outcomeRequestSchema],
  ["batch", jobBatchSchema],
]);

/**
 * Checks a request completely, reporting every problem at once; nothing is sent unless it passes.
 * A hostile request is bounded: once MAX_LISTED_ISSUES are found, the remaining items are not
 * examined, so `issueCount` then counts what was found up to that point.
 */
export function parseRequest(input: unknown, maxItems: number): BulkRequest {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw validationErrorOf([{ path: "", message: "the request must be a JSON object" }]);
  }
  const request = input as Record<string, unknown>;

  const schema = ACTION_SCHEMAS.get(request.action);
  if (schema) {
    const parsed = schema.safeParse(request);
    if (!parsed.success) throw validationErrorOf(issuesOf(parsed.error));
    return parsed.data;
  }

  // Over the limit is refused before thousands of items are examined one by one.
  for (const field of ["body", "ids"] as const) {
    const value = request[field];
    const count = Array.isArray(value) ? value.length : typeof value === "string" ? value.split(",").length : 0;
    if (count > maxItems) {
      throw validationErrorOf([{ path: field, message: `holds ${count} entries; at most ${maxItems} (MAX_ITEMS) per request` }], 413);
    }
  }

  const issues = new IssueList();
  const named = objectNamed(request.object);
  // An object not listed is reported by the envelope, whose updates no schema of ours can check.
  const object = named ?? DEFAULT_OBJECT;
  const envelope = (ENVELOPES.get(object.name) as ReturnType<typeof commandEnvelopeOf>).safeParse(request);
  if (!envelope.success) issues.add(issuesOf(envelope.error, [], object));
  const items = Array.isArray(request.body) && named ? request.body : [];
  const body: ObjectUpdate[] = [];
  for (let index = 0; index < items.length && !issues.full; index += 1) {
    const item = updateSchemaFor(object, items[index]).safeParse(items[index]);
    if (item.success) body.push(item.data);
    else issues.add(issuesOf(item.error, ["body", index], object));
  }
  issues.add(crossFieldIssues(request));
  if (issues.count > 0 || !envelope.success) throw validationErrorOf(issues.listed, 400, issues.count);
  return { ...envelope.data, body };
}
