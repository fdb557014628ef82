// The requests the function accepts (CONTRACT §1): the bulk-update command, field for field as
// Kustomer's bulk-update item, and the status request. Types are inferred from these schemas. Written
// with zod/mini: the same checks and messages as full zod, a fraction of its load on a cold start.
import * as z from "zod/mini";
import "./zod-messages.ts";
import { KUSTOMER_BULK_LIMIT, MAX_COMMAND_ITEMS } from "./limits.ts";

/** Kustomer ids are MongoDB ObjectIds, lowercase hex: an uppercase id is taken and sent in lowercase. */
export const objectId = z.string().check(z.regex(/^[0-9a-f]{24}$/i, "must be a Kustomer id: 24 hexadecimal characters"), z.toLowerCase());

// Kustomer documents no length limits; these guard against junk without refusing real data, and bound
// the work one hostile request can cause (docs/requests.md: what a request looks like).
const text = (min = 0) => (min > 0 ? z.string().check(z.minLength(min), z.maxLength(1024)) : z.string().check(z.maxLength(1024)));
/** Entries in each list field of one update (emails, phones, tags, ...). */
export const MAX_LIST_ENTRIES = 100;
/** Custom attributes in one update. */
export const MAX_CUSTOM_ATTRIBUTES = 200;
const list = <T extends z.ZodMiniType>(entry: T) =>
  z.optional(z.array(entry).check(z.maxLength(MAX_LIST_ENTRIES, `must hold at most ${MAX_LIST_ENTRIES} entries`)));
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

// Checked in place, not as a z.record: a record runs two schemas and copies every entry, on every
// update, and would drop a `__proto__` entry silently rather than refuse it.
const custom = z.custom<Record<string, unknown>>().check(
  z.superRefine((attributes, ctx) => {
    if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
      ctx.addIssue({ code: "invalid_type", expected: "record", input: attributes });
      return;
    }
    const names = Object.keys(attributes);
    if (names.length > MAX_CUSTOM_ATTRIBUTES) {
      ctx.addIssue({ code: "custom", message: `must hold at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes, not ${names.length}` });
      return;
    }
    for (const name of names) {
      if (name === "__proto__") {
        ctx.addIssue({ code: "custom", path: [name], message: "is not a custom attribute name (__proto__ is refused)" });
        continue;
      }
      const suffix = CUSTOM_NAME.exec(name)?.[1] as keyof typeof customValueBySuffix | undefined;
      if (!suffix) {
        ctx.addIssue({ code: "custom", path: [name], message: "custom attribute names end in Num, At, Str, Txt, Bool or Url" });
        continue;
      }
      const value = attributes[name];
      const rule = customValueBySuffix[suffix];
      if (value !== null && !rule.valid(value)) {
        ctx.addIssue({ code: "custom", path: [name], message: `a ${suffix} attribute must be ${rule.expected}, or null` });
      }
    }
  }),
);
// For the OpenAPI document (tools/openapi.ts): what the check above enforces, as a record would say it.
z.globalRegistry.add(custom, {
  type: "object",
  propertyNames: { pattern: CUSTOM_NAME.source },
  additionalProperties: {},
  description: `Custom attributes (at most ${MAX_CUSTOM_ATTRIBUTES}): names end in Num, At, Str, Txt, Bool or Url, and values are typed accordingly`,
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
  /** With the changes table (CONTRACT §2.7): send every update whole, and refresh what is recorded. */
  fullResync: z.optional(z.boolean()),
  /** The caller's own reference, echoed in results and outcome events. */
  correlationId: z.optional(z.string().check(z.regex(/^[\x20-\x7E]{1,128}$/, "must be 1 to 128 printable ASCII characters"))),
});

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

export type CustomerUpdate = z.infer<typeof customerUpdateSchema>;
export type BulkUpdateCommand = z.infer<typeof bulkUpdateCommandSchema>;
export type StatusRequest = z.infer<typeof statusRequestSchema>;
export type OutcomeRequest = z.infer<typeof outcomeRequestSchema>;
export type JobBatch = z.infer<typeof jobBatchSchema>;
export type Settled = z.infer<typeof settledSchema>;
export type BulkRequest = BulkUpdateCommand | StatusRequest | OutcomeRequest | JobBatch;
