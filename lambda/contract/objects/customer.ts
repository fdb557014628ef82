// The customer: Kustomer's PUT /v1/customers/bulk, the object this service was built for. Its
// update is Kustomer's bulk-update item, field for field (CONTRACT §1). A second object is a file like
// this one, listed in listed.ts.
import * as z from "zod/mini";
import {
  custom,
  email,
  externalId,
  facebookId,
  list,
  location,
  nullableText,
  objectId,
  optionalDateTime,
  phone,
  social,
  text,
  url,
} from "./fields.ts";
import { defineObject } from "./kustomer-object.ts";

const sentiment = z.strictObject({ polarity: z.literal([-1, 0, 1]), confidence: z.number() });

const update = z.strictObject({
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

export const customer = defineObject({
  name: "customer",
  plural: "customers",
  title: "Customer",
  update,
  role: "org.permission.customer.update",
});

export type CustomerUpdate = z.infer<typeof update>;
