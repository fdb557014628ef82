// The requests the function accepts (CONTRACT §1): the bulk-update command, field for field as
// Kustomer's bulk-update item, and the status request. Types are inferred from these schemas. Written
// with zod/mini: the same checks and messages as full zod, a fraction of its load on a cold start.
import * as z from "zod/mini";
import { MAX_ISSUES_IN_MESSAGE, MAX_LISTED_ISSUES, validationErrorOf, type ValidationIssue } from "./errors.ts";
import "./zod-messages.ts";

/** Kustomer ids are MongoDB ObjectIds, lowercase hex: an uppercase id is taken and sent in lowercase. */
export const objectId = z.string().check(z.regex(/^[0-9a-f]{24}$/i, "must be a Kustomer id: 24 hexadecimal characters"), z.toLowerCase());

// Kustomer documents no length limits; these guard against junk without refusing real data, and bound
// the work one hostile request can cause (README: Limits).
const text = (min = 0) => (min > 0 ? z.string().check(z.minLength(min), z.maxLength(1024)) : z.string().check(z.maxLength(1024)));
/** Entries in each list field of one update (emails, phones, tags, ...). */
export const MAX_LIST_ENTRIES = 100;
/** Custom attributes in one update. */
export const MAX_CUSTOM_ATTRIBUTES = 200;
const list = <T extends z.ZodMiniType>(entry: T) => z.optional(z.array(entry).check(z.maxLength(MAX_LIST_ENTRIES, `must hold at most ${MAX_LIST_ENTRIES} entries`)));
const nullableText = z.optional(z.nullable(text()));
const dateTime = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z" });
const optionalDateTime = z.optional(dateTime);
const verified = z.optional(z.boolean());

const externalId = z.strictObject({ externalId: text(1), verified });
const email = z.strictObject({
  // HTML5's rule (what browsers accept): RFC-valid local parts such as "o/reilly@" pass, unlike zod's default.
  email: z.email({ pattern: z.regexes.html5Email }).check(z.maxLength(320)),
  type: z.optional(z.enum(["home", "work", "other"])),
  verified,
});
const phone = z.strictObject({
  phone: z.string().check(z.minLength(1), z.maxLength(64)),
  type: z.optional(z.enum(["mobile", "home", "work", "fax", "other"])),
  verified,
});
const facebookId = z.strictObject({ pageId: text(1), userId: text(1), name: z.optional(text()) });
const link = z.url().check(z.maxLength(2048));
const social = z.strictObject({
  type: z.enum(["twitter", "facebook", "instagram", "linkedin", "pinterest"]),
  username: text(1),
  userid: z.optional(text()),
  url: z.optional(link),
  verified,
});
const url = z.strictObject({ type: z.optional(z.enum(["website", "blog", "other"])), url: link });
const coordinate = (limit: number) => z.optional(z.nullable(z.number().check(z.gte(-limit), z.lte(limit))));
const location = z.strictObject({
  type: z.optional(z.enum(["home", "work", "other"])),
  name: nullableText,
  address: nullableText,
  address2: nullableText,
  address3: nullableText,
  latitude: coordinate(90),
  longitude: coordinate(180),
  countryCode: nullableText,
  countryName: nullableText,
  regionCode: nullableText,
  regionName: nullableText,
  cityName: nullableText,
  zipCode: nullableText,
  areaCode: nullableText,
});
const sentiment = z.strictObject({ polarity: z.literal([-1, 0, 1]), confidence: z.number() });

/**
 * Custom attribute names carry their type as a suffix; the value must match it (or be null). Plain
 * checks rather than a schema per value: there can be thousands of values in one command.
 */
const text1024 = (value: unknown) => typeof value === "string" && value.length <= 1024;
const customValueBySuffix = {
  Num: { valid: (value: unknown) => typeof value === "number" && Number.isFinite(value), expected: "a number" },
  At: { valid: (value: unknown) => dateTime.safeParse(value).success, expected: "an ISO 8601 date-time" },
  Str: { valid: text1024, expected: "a string of at most 1024 characters" },
  Txt: { valid: text1024, expected: "a string of at most 1024 characters" },
  Bool: { valid: (value: unknown) => typeof value === "boolean", expected: "true or false" },
  Url: { valid: (value: unknown) => typeof value === "string" && URL.canParse(value), expected: "a URL" },
} as const;
const CUSTOM_NAME = /^[A-Za-z][A-Za-z0-9_]*(Num|At|Str|Txt|Bool|Url)$/;

const custom = z.record(z.string(), z.unknown()).check(
  z.superRefine((attributes, ctx) => {
    const names = Object.keys(attributes);
    if (names.length > MAX_CUSTOM_ATTRIBUTES) {
      ctx.addIssue({ code: "custom", message: `must hold at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes, not ${names.length}` });
      return;
    }
    for (const [name, value] of Object.entries(attributes)) {
      const suffix = CUSTOM_NAME.exec(name)?.[1] as keyof typeof customValueBySuffix | undefined;
      if (!suffix) {
        ctx.addIssue({ code: "custom", path: [name], message: "custom attribute names end in Num, At, Str, Txt, Bool or Url" });
        continue;
      }
      const rule = customValueBySuffix[suffix];
      if (value !== null && !rule.valid(value)) {
        ctx.addIssue({ code: "custom", path: [name], message: `a ${suffix} attribute must be ${rule.expected}, or null` });
      }
    }
  }),
);
// For the OpenAPI document (infra/openapi.ts): what the check above enforces.
z.globalRegistry.add(custom, {
  description: `Custom attributes (at most ${MAX_CUSTOM_ATTRIBUTES}): names end in Num, At, Str, Txt, Bool or Url, and values are typed accordingly`,
  propertyNames: { pattern: CUSTOM_NAME.source },
});

export const customerUpdateSchema = z.strictObject({
  id: objectId,
  name: nullableText,
  company: nullableText,
  externalId: nullableText,
  username: nullableText,
  avatarUrl: nullableText,
  signedUpAt: optionalDateTime,
  lastActivityAt: optionalDateTime,
  lastCustomerActivityAt: optionalDateTime,
  lastSeenAt: optionalDateTime,
  birthdayAt: optionalDateTime,
  createdAt: optionalDateTime,
  importedAt: optionalDateTime,
  externalIds: list(externalId),
  sharedExternalIds: list(externalId),
  emails: list(email),
  sharedEmails: list(email),
  phones: list(phone),
  sharedPhones: list(phone),
  facebookIds: list(facebookId),
  socials: list(social),
  sharedSocials: list(social),
  urls: list(url),
  locations: list(location),
  locale: nullableText,
  timeZone: nullableText,
  defaultLang: nullableText,
  tags: list(text(1)),
  sentiment: z.optional(sentiment),
  custom: z.optional(custom),
  gender: z.optional(z.enum(["m", "f"])),
  rev: z.optional(z.int().check(z.nonnegative())),
});

/** `ids` arrives as "a,b,c" (HTTP query, Kustomer's own form) or as an array. */
const idList = z.pipe(
  z.transform((value: unknown) => (typeof value === "string" ? value.split(",").map((id) => id.trim()) : value)),
  z.array(objectId).check(z.minLength(1, "must list at least one customer id")),
);

export const bulkUpdateCommandSchema = z.strictObject({
  action: z.optional(z.literal("submit")),
  ids: z.optional(idList),
  body: z.array(customerUpdateSchema).check(z.minLength(1, "must hold at least one customer update")),
  dryRun: z.optional(z.boolean()),
  /** The caller's own reference, echoed in results and outcome events. */
  correlationId: z.optional(z.string().check(z.regex(/^[\x20-\x7E]{1,128}$/, "must be 1 to 128 printable ASCII characters"))),
});

/** Kustomer's bulk operation ids, as a submit answers them (bulkId): ObjectIds in practice. */
export const BULK_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const BULK_ID_MESSAGE = "must be a Kustomer bulk operation id, as a submit's answer gives it (bulkId): 1 to 64 letters, digits, _ or -, e.g. 5e4c41c8c9f1e7001a5a3b2c";

const bulkIds = z.array(z.string().check(z.regex(BULK_ID, BULK_ID_MESSAGE))).check(z.minLength(1), z.maxLength(100));

export const statusRequestSchema = z.strictObject({ action: z.literal("status"), bulkIds });

/** The workflow's question: are these operations all applied, and which customers failed? */
export const outcomeRequestSchema = z.strictObject({ action: z.literal("outcome"), bulkIds });

/** A large job's batch (a Distributed Map child's `Items`): each line is checked on its own (CONTRACT §7). */
export const jobBatchSchema = z.strictObject({ action: z.literal("batch"), items: z.array(z.unknown()).check(z.minLength(1), z.maxLength(100)) });

/** A large job's lines, each with its number in the file (CONTRACT §7): `npm run job` sends these. */
export const jobLinesSchema = z.strictObject({
  action: z.literal("lines"),
  lines: z
    .array(z.strictObject({ line: z.int().check(z.minimum(1)), text: z.string().check(z.maxLength(1_000_000)) }))
    .check(z.minLength(1), z.maxLength(100)),
});

export type CustomerUpdate = z.infer<typeof customerUpdateSchema>;
export type BulkUpdateCommand = z.infer<typeof bulkUpdateCommandSchema>;
export type StatusRequest = z.infer<typeof statusRequestSchema>;
export type OutcomeRequest = z.infer<typeof outcomeRequestSchema>;
export type JobBatch = z.infer<typeof jobBatchSchema>;
export type JobLines = z.infer<typeof jobLinesSchema>;
export type BulkRequest = BulkUpdateCommand | StatusRequest | OutcomeRequest | JobBatch | JobLines;

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
export function splitBatch(items: unknown[]): { command?: BulkUpdateCommand; rejected: RejectedItem[] } {
  const body: CustomerUpdate[] = [];
  const rejected: RejectedItem[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const rawId = (item as { id?: unknown } | null)?.id;
    const id = typeof rawId === "string" ? rawId : undefined;
    const reject = (issues: ValidationIssue[]) => {
      const reason = issues
        .slice(0, MAX_ISSUES_IN_MESSAGE)
        .map((issue) => `${issue.path || "(line)"}: ${issue.message}`)
        .join("; ");
      rejected.push({ index, ...(id === undefined ? {} : { id }), reason });
    };
    const polluting = pollutingKeyIssues(item);
    const parsed = customerUpdateSchema.safeParse(item);
    if (polluting.length > 0 || !parsed.success) return reject([...polluting, ...(parsed.success ? [] : issuesOf(parsed.error))]);
    // Sent together, two lines for one customer would make Kustomer's outcome ambiguous.
    if (seen.has(parsed.data.id)) return reject([{ path: "id", message: "is the same customer as an earlier line of its batch" }]);
    seen.add(parsed.data.id);
    body.push(parsed.data);
  });
  return { command: body.length > 0 ? { body } : undefined, rejected };
}

/** `body[3].emails[0].email`: the path as a caller would write it. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, index) => {
      if (typeof key === "number") return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][\w$]*$/.test(name)) return index === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join("");
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

export function issuesOf(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }, prefix: PropertyKey[] = []): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), message: issue.message }));
}

/** zod copies a record's entries, so a `__proto__` custom attribute would vanish silently: refuse it by name. */
function pollutingKeyIssues(item: unknown, prefix = ""): ValidationIssue[] {
  const attributes = (item as { custom?: unknown } | null)?.custom;
  if (!attributes || typeof attributes !== "object" || !Object.hasOwn(attributes, "__proto__")) return [];
  return [{ path: `${prefix}custom.__proto__`, message: "is not a custom attribute name (__proto__ is refused)" }];
}

/** The command without its items, which are checked one by one so that checking can stop early. */
const commandEnvelopeSchema = z.extend(bulkUpdateCommandSchema, {
  body: z.array(z.unknown()).check(z.minLength(1, "must hold at least one customer update")),
});

/** The requests other than a command; a Map, so no `action` can reach Object's prototype. */
const ACTION_SCHEMAS = new Map<unknown, z.ZodMiniType<StatusRequest | OutcomeRequest | JobBatch | JobLines>>([
  ["status", statusRequestSchema],
  ["outcome", outcomeRequestSchema],
  ["batch", jobBatchSchema],
  ["lines", jobLinesSchema],
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
  const envelope = commandEnvelopeSchema.safeParse(request);
  if (!envelope.success) issues.add(issuesOf(envelope.error));
  const items = Array.isArray(request.body) ? request.body : [];
  const body: CustomerUpdate[] = [];
  for (let index = 0; index < items.length && !issues.full; index += 1) {
    issues.add(pollutingKeyIssues(items[index], `body[${index}].`));
    const item = customerUpdateSchema.safeParse(items[index]);
    if (item.success) body.push(item.data);
    else issues.add(issuesOf(item.error, ["body", index]));
  }
  issues.add(crossFieldIssues(request));
  if (issues.count > 0 || !envelope.success) throw validationErrorOf(issues.listed, 400, issues.count);
  return { ...envelope.data, body };
}
