// Kustomer's field types, which its objects share (customers, companies and the rest): ids, bounded
// text, lists, date-times, contact points and custom attributes. An object's definition (customer.ts)
// composes its update schema from these.
import * as z from "zod/mini";
import "../zod-messages.ts";

/** Kustomer ids are MongoDB ObjectIds, lowercase hex: an uppercase id is taken and sent in lowercase. */
export const objectId = z.string().check(z.regex(/^[0-9a-f]{24}$/i, "must be a Kustomer id: 24 hexadecimal characters"), z.toLowerCase());

// Kustomer documents no length limits; these guard against junk without refusing real data, and bound
// the work one hostile request can cause (docs/requests.md: what a request looks like).
export const text = (min = 0) => (min > 0 ? z.string().check(z.minLength(min), z.maxLength(1024)) : z.string().check(z.maxLength(1024)));
/** Entries in each list field of one update (emails, phones, tags, ...). */
const MAX_LIST_ENTRIES = 100;
/** Custom attributes in one update. */
const MAX_CUSTOM_ATTRIBUTES = 200;
export const list = <T extends z.ZodMiniType>(entry: T) =>
  z.optional(z.array(entry).check(z.maxLength(MAX_LIST_ENTRIES, `must hold at most ${MAX_LIST_ENTRIES} entries`)));
export const nullableText = z.optional(z.nullable(text()));
const dateTime = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z" });
export const optionalDateTime = z.optional(dateTime);
const verified = z.optional(z.boolean());

export const externalId = z.strictObject({ externalId: text(1), verified });
export const email = z.strictObject({
  // HTML5's rule (what browsers accept): RFC-valid local parts such as "o/reilly@" pass, unlike zod's default.
  email: z.email({ pattern: z.regexes.html5Email }).check(z.maxLength(320)),
  type: z.optional(z.enum(["home", "work", "other"])),
  verified,
});
export const phone = z.strictObject({
  phone: z.string().check(z.minLength(1), z.maxLength(64)),
  type: z.optional(z.enum(["mobile", "home", "work", "fax", "other"])),
  verified,
});
export const facebookId = z.strictObject({ pageId: text(1), userId: text(1), name: z.optional(text()) });
const link = z.url().check(z.maxLength(2048));
export const social = z.strictObject({
  type: z.enum(["twitter", "facebook", "instagram", "linkedin", "pinterest"]),
  username: text(1),
  userid: z.optional(text()),
  url: z.optional(link),
  verified,
});
export const url = z.strictObject({ type: z.optional(z.enum(["website", "blog", "other"])), url: link });
const coordinate = (limit: number) => z.optional(z.nullable(z.number().check(z.gte(-limit), z.lte(limit))));
export const location = z.strictObject({
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
export const custom = z.custom<Record<string, unknown>>().check(
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
