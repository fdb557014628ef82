import { describe, expect, it } from "vitest";
import { ValidationError } from "../lambda/contract/errors.ts";
import { formatPath } from "../lambda/contract/issues.ts";
import { parseRequest } from "../lambda/contract/validation.ts";
import { customerId, customerUpdate, customerUpdates } from "./support/fixtures.ts";

function issuesOf(input: unknown, maxItems = 10_000): ValidationError {
  try {
    parseRequest(input, maxItems);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

const everyField = {
  id: customerId(1),
  name: "Ada",
  company: null,
  externalId: "crm-1",
  username: "ada",
  avatarUrl: "https://example.com/a.png",
  signedUpAt: "2024-01-01T00:00:00Z",
  lastActivityAt: "2024-01-02T00:00:00.000+02:00",
  lastCustomerActivityAt: "2024-01-03T00:00:00Z",
  lastSeenAt: "2024-01-04T00:00:00Z",
  birthdayAt: "1990-12-10T00:00:00Z",
  createdAt: "2020-01-01T00:00:00Z",
  importedAt: "2020-01-01T00:00:00Z",
  externalIds: [{ externalId: "e-1", verified: true }],
  sharedExternalIds: [{ externalId: "e-2" }],
  emails: [{ email: "ada@example.com", type: "work", verified: true }],
  sharedEmails: [{ email: "team@example.com", type: "other" }],
  phones: [{ phone: "+15550100", type: "mobile" }],
  sharedPhones: [{ phone: "+15550101", type: "fax", verified: false }],
  facebookIds: [{ pageId: "p", userId: "u", name: "n" }],
  socials: [{ type: "twitter", username: "ada", userid: "1", url: "https://x.com/ada", verified: true }],
  sharedSocials: [{ type: "linkedin", username: "ada" }],
  urls: [{ type: "blog", url: "https://ada.example.com" }],
  locations: [{ type: "home", name: "Home", address: "1 Main St", latitude: 51.5, longitude: -0.12, countryCode: "GB", zipCode: "N1" }],
  locale: "en-GB",
  timeZone: "Europe/London",
  tags: ["vip", "beta"],
  sentiment: { polarity: -1, confidence: 0.9 },
  custom: {
    tierStr: "gold",
    notesTxt: null,
    ordersNum: 3,
    lastOrderAt: "2024-05-01T12:00:00Z",
    activeBool: true,
    siteUrl: "https://ada.example.com",
  },
  gender: "f",
  rev: 7,
  defaultLang: "en",
};

describe("the bulk-update command", () => {
  it("accepts every field of Kustomer's bulk-update item and keeps them as sent", () => {
    const request = parseRequest({ body: [everyField] }, 10);
    expect(request).toEqual({ body: [everyField] });
  });

  it("reports every problem at once, each with its path", () => {
    const error = issuesOf({
      body: [
        customerUpdate(1),
        {
          id: customerId(2),
          emails: [{ email: "not-an-email" }],
          phones: [{ type: "pager" }],
          sentiment: { polarity: 2, confidence: 1 },
          gender: "x",
          signedUpAt: "yesterday",
          socials: [{ type: "myspace", username: "a" }],
        },
      ],
    });
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(
      [
        "body[1].emails[0].email",
        "body[1].gender",
        "body[1].phones[0].phone",
        "body[1].phones[0].type",
        "body[1].sentiment.polarity",
        "body[1].signedUpAt",
        "body[1].socials[0].type",
      ].sort(),
    );
    expect(error.httpStatus).toBe(400);
    expect(error.message).toContain("body[1].emails[0].email");
  });

  it("rejects unknown keys, so a typo is never dropped silently, and names the field it looks like rather than quoting the key", () => {
    const error = issuesOf({ body: [{ id: customerId(1), emial: "x" }], dryrun: true });
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: "body[0]", message: "has an unknown field (did you mean emails?)" },
        { path: "", message: "has an unknown field (did you mean dryRun?)" },
      ]),
    );
  });

  it("counts unknown keys rather than quoting them: an email used as a key stays out of the answer", () => {
    const error = issuesOf({ body: [{ id: customerId(1), "ada@example.com": "x", custom: { "ada@example.com": "x" } }] });
    expect(error.issues).toEqual([
      { path: "body[0].custom[…]", message: "custom attribute names end in Num, At, Str, Txt, Bool or Url" },
      { path: "body[0]", message: "has an unknown field" },
    ]);
    expect(JSON.stringify(error)).not.toContain("ada@");
  });

  it("rejects a caller's own _clientRef and prototype-polluting keys", () => {
    const polluted = JSON.parse(`{"id":"${customerId(1)}","_clientRef":"x","__proto__":{"admin":true}}`);
    const error = issuesOf({ body: [polluted] });
    expect(error.issues[0]?.message).toMatch(/_clientRef/);
    expect(error.issues[0]?.message).toMatch(/__proto__/);
  });

  it("refuses a __proto__ custom attribute by name instead of dropping it", () => {
    const polluted = JSON.parse(`{"id":"${customerId(1)}","custom":{"__proto__":{"admin":true},"tierStr":"gold"}}`);
    expect(issuesOf({ body: [polluted] }).issues).toEqual([
      { path: "body[0].custom.__proto__", message: "is not a custom attribute name (__proto__ is refused)" },
    ]);
  });

  it.each([
    ["a string", "x", "string"],
    ["a list", [], "array"],
    ["null", null, "null"],
  ])("refuses custom attributes given as %s, as a record would", (_, custom, received) => {
    expect(issuesOf({ body: [{ id: customerId(1), custom }] }).issues).toEqual([
      { path: "body[0].custom", message: `Invalid input: expected record, received ${received}` },
    ]);
  });

  it.each([
    ["a list field", { tags: Array.from({ length: 101 }, (_, index) => `t${index}`) }, "body[0].tags", "must hold at most 100 entries"],
    [
      "the custom attributes",
      { custom: Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`a${index}Num`, index])) },
      "body[0].custom",
      "must hold at most 200 custom attributes, not 201",
    ],
  ])("caps %s of one update", (_, fields, path, message) => {
    expect(issuesOf({ body: [{ id: customerId(1), ...fields }] }).issues).toEqual([{ path, message }]);
  });

  it("lists at most 100 issues, counts them, and stops examining items once the list is full", () => {
    const wrong = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`field${index}Num`, "not a number"]));
    // 3 issues in each of 40 items, then an item that would add 3 more if it were examined.
    const body = [
      ...Array.from({ length: 40 }, (_, index) => ({ id: customerId(index + 1), custom: wrong(3) })),
      { id: customerId(99), custom: wrong(3) },
    ];
    const error = issuesOf({ body });
    expect(error.issues).toHaveLength(100);
    expect(error.issueCount).toBe(102);
    expect(error.issues.at(-1)?.path).toBe("body[33].custom.field0Num");
    expect(error.message).toContain("(and 92 more)");
  });

  it("counts every issue while the list is not full", () => {
    const error = issuesOf({ body: [{ id: "123" }, { id: "456" }] });
    expect(error).toMatchObject({
      issueCount: 2,
      issues: [expect.objectContaining({ path: "body[0].id" }), expect.objectContaining({ path: "body[1].id" })],
    });
  });

  it("requires Kustomer ids of 24 hexadecimal characters", () => {
    const error = issuesOf({ body: [{ id: "123" }, { name: "no id" }] });
    expect(error.issues).toEqual([
      { path: "body[0].id", message: "must be a Kustomer id: 24 hexadecimal characters" },
      expect.objectContaining({ path: "body[1].id" }),
    ]);
  });

  it("rejects duplicate customer ids, in body and in ids, case-insensitively", () => {
    const upper = { ...customerUpdate(1), id: customerId(1).toUpperCase() };
    expect(issuesOf({ body: [customerUpdate(1), customerUpdate(2), upper] }).issues).toEqual([
      { path: "body[2].id", message: "duplicate of body[0].id" },
    ]);
    const ids = `${customerId(1)},${customerId(2)},${customerId(1)}`;
    expect(issuesOf({ ids, body: [customerUpdate(1)] }).issues).toEqual([{ path: "ids[2]", message: "duplicate of ids[0]" }]);
  });

  it("checks custom attribute names and types by their suffix", () => {
    const error = issuesOf({
      body: [
        {
          id: customerId(1),
          custom: {
            tier: "gold",
            countNum: "3",
            whenAt: "soon",
            flagBool: "yes",
            linkUrl: "not a url",
            longStr: "x".repeat(1025),
            okTxt: "fine",
          },
        },
      ],
    });
    expect(error.issues.map((issue) => issue.path)).toEqual([
      "body[0].custom.tier",
      "body[0].custom.countNum",
      "body[0].custom.whenAt",
      "body[0].custom.flagBool",
      "body[0].custom.linkUrl",
      "body[0].custom.longStr",
    ]);
    expect(error.issues[0]?.message).toBe("custom attribute names end in Num, At, Str, Txt, Bool or Url");
  });

  it("needs at least one update, and refuses more than MAX_ITEMS with 413 before examining them", () => {
    expect(issuesOf({ body: [] }).issues).toEqual([{ path: "body", message: "must hold at least one customer update" }]);
    expect(issuesOf({}).issues[0]?.path).toBe("body");
    const tooMany = issuesOf({ body: [...customerUpdates(3), "junk"] }, 3);
    expect(tooMany.httpStatus).toBe(413);
    expect(tooMany.issues).toEqual([{ path: "body", message: "holds 4 entries; at most 3 (MAX_ITEMS) per request" }]);
  });

  it("takes ids as a comma-separated string or an array, for one update applied to all of them", () => {
    const ids = [customerId(1), customerId(2)];
    const fromString = parseRequest({ ids: ids.join(", "), body: [customerUpdate(1)] }, 10);
    const fromArray = parseRequest({ ids, body: [customerUpdate(1)] }, 10);
    expect(fromString).toEqual(fromArray);
    expect(fromString).toMatchObject({ ids });
  });

  it("with ids, requires exactly one update whose id is one of them", () => {
    const ids = `${customerId(1)},${customerId(2)}`;
    expect(issuesOf({ ids, body: customerUpdates(2) }).issues).toEqual([
      { path: "body", message: "with ids, body must hold exactly one update, applied to every listed id" },
    ]);
    expect(issuesOf({ ids, body: [customerUpdate(3)] }).issues).toEqual([{ path: "body[0].id", message: "must be one of ids" }]);
    expect(issuesOf({ ids: `${customerId(1)},,bad`, body: [customerUpdate(1)] }).issues.map((issue) => issue.path)).toEqual([
      "ids[1]",
      "ids[2]",
    ]);
  });

  it("insists on a JSON object and a boolean dryRun", () => {
    expect(issuesOf([customerUpdate(1)]).issues).toEqual([{ path: "", message: "the request must be a JSON object" }]);
    expect(issuesOf("text").issues[0]?.message).toBe("the request must be a JSON object");
    expect(issuesOf({ body: [customerUpdate(1)], dryRun: "yes" }).issues[0]?.path).toBe("dryRun");
  });
});

describe("the status request", () => {
  it("takes 1 to 100 bulk ids of safe characters", () => {
    expect(parseRequest({ action: "status", bulkIds: ["abc123"] }, 10)).toEqual({ action: "status", bulkIds: ["abc123"] });
    expect(issuesOf({ action: "status", bulkIds: ["../customers"] }).issues[0]?.path).toBe("bulkIds[0]");
    expect(issuesOf({ action: "status", bulkIds: [] }).issues[0]?.path).toBe("bulkIds");
    expect(issuesOf({ action: "status", bulkIds: ["a"], body: [] }).issues[0]?.message).toContain("body");
  });
});

describe("formatPath", () => {
  it("writes paths as a caller would", () => {
    expect(formatPath(["body", 3, "emails", 0, "email"])).toBe("body[3].emails[0].email");
    expect(formatPath(["body", 0, "custom", "odd-key"])).toBe('body[0].custom["odd-key"]');
    // Not a name: possibly data, so not quoted.
    expect(formatPath(["body", 0, "custom", "Ada Lovelace"])).toBe("body[0].custom[…]");
    expect(formatPath(["body", 0, "custom", "15551234567Str"])).toBe("body[0].custom[…]");
    expect(formatPath([])).toBe("");
  });
});

describe("a customer's command, as before objects had names", () => {
  it("reports its fields' issues in the command's field order, body before the flags", () => {
    expect(issuesOf({ dryRun: "yes", correlationId: 5 }).issues.map(({ path }) => path)).toEqual(["body", "dryRun", "correlationId"]);
  });

  it("suggests no `object` for an unknown field that merely looks like it", () => {
    expect(issuesOf({ body: [{ id: customerId(1), subject: "x" }] }).issues).toEqual([
      { path: "body[0]", message: "has an unknown field" },
    ]);
  });
});
