// Property-based: whatever arrives, bad input is a ValidationError with a path (never a crash, never a
// call to Kustomer), and a valid command reaches Kustomer exactly as validated.
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ValidationError } from "../lambda/contract/errors.ts";
import { issuesOf } from "../lambda/contract/issues.ts";
import { customer } from "../lambda/contract/objects/customer.ts";
import { parseRequest } from "../lambda/contract/validation.ts";
import { httpApiEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/);
const isoDate = fc
  .date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
  .map((date) => date.toISOString());
const text = fc.string({ maxLength: 40 });
const email = fc.emailAddress();

/** Valid customer updates: every kind of field Kustomer's bulk-update item has, each optional. */
const customerUpdate = fc.record(
  {
    id: hex24,
    name: fc.option(text, { nil: null }),
    company: fc.option(text, { nil: null }),
    externalId: text,
    signedUpAt: isoDate,
    emails: fc.array(fc.record({ email, type: fc.constantFrom("home", "work", "other") }, { requiredKeys: ["email"] }), { maxLength: 3 }),
    phones: fc.array(
      fc.record(
        { phone: fc.string({ minLength: 1, maxLength: 20 }), type: fc.constantFrom("mobile", "home", "work", "fax", "other") },
        { requiredKeys: ["phone"] },
      ),
      { maxLength: 2 },
    ),
    socials: fc.array(
      fc.record({
        type: fc.constantFrom("twitter", "facebook", "instagram", "linkedin", "pinterest"),
        username: fc.string({ minLength: 1, maxLength: 20 }),
      }),
      { maxLength: 2 },
    ),
    locations: fc.array(
      fc.record({ name: text, latitude: fc.double({ min: -90, max: 90, noNaN: true }), countryCode: text }, { requiredKeys: [] }),
      { maxLength: 2 },
    ),
    tags: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 5 }),
    sentiment: fc.record({ polarity: fc.constantFrom(-1, 0, 1), confidence: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
    custom: fc.record(
      {
        tierStr: fc.option(fc.string({ maxLength: 1024 }), { nil: null }),
        ordersNum: fc.integer(),
        activeBool: fc.boolean(),
        joinedAt: isoDate,
      },
      { requiredKeys: [] },
    ),
    gender: fc.constantFrom("m", "f"),
    rev: fc.nat(),
  },
  { requiredKeys: ["id"] },
);

const validCommand = fc
  .uniqueArray(customerUpdate, { minLength: 1, maxLength: 30, selector: (update) => update.id })
  .map((body) => ({ body }));

/** Ways to break one item of a valid command; each must be refused. */
const mutations: Array<[string, (item: Record<string, unknown>) => void]> = [
  ["missing id", (item) => delete item.id],
  ["id of the wrong shape", (item) => (item.id = "not-an-object-id")],
  ["wrong type", (item) => (item.tags = "vip")],
  ["bad enum", (item) => (item.gender = "x")],
  ["bad custom suffix", (item) => (item.custom = { tier: "gold" })],
  ["bad custom value", (item) => (item.custom = { ordersNum: "3" })],
  ["oversize string", (item) => (item.name = "x".repeat(1025))],
  ["unknown key", (item) => (item.emial = "a@b.c")],
  ["prototype-polluting key", (item) => Object.defineProperty(item, "__proto__", { value: { admin: true }, enumerable: true })],
  ["deeply nested junk", (item) => (item.sentiment = { polarity: 1, confidence: 1, nested: { a: [{ b: [{ c: {} }] }] } })],
  ["bad email", (item) => (item.emails = [{ email: "nope" }])],
  ["bad date", (item) => (item.signedUpAt = "yesterday")],
];

function validationError(input: unknown): ValidationError | undefined {
  try {
    parseRequest(input, 10_000);
    return undefined;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error;
  }
}

describe("validation, property-based", () => {
  // First in the file: the schemas picked to an update's fields are cached per process, 64 at most.
  it("checks each update, whichever fields it carries, exactly as the whole update schema does", () => {
    fc.assert(
      fc.property(
        customerUpdate,
        fc.option(fc.constantFrom(...mutations.map(([, mutate]) => mutate)), { nil: undefined }),
        (update, mutate) => {
          const item = JSON.parse(JSON.stringify(update)) as Record<string, unknown>;
          mutate?.(item);
          const whole = customer.update.safeParse(item);
          if (whole.success) expect(parseRequest({ body: [item] }, 10_000)).toEqual({ body: [whole.data] });
          else expect(validationError({ body: [item] })?.issues).toEqual(issuesOf(whole.error, ["body", 0]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives arbitrary JSON a ValidationError whose issues all have paths and messages, and never throws anything else", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        const error = validationError(input);
        if (!error) return;
        expect(error.issues.length).toBeGreaterThan(0);
        for (const issue of error.issues) {
          expect(typeof issue.path).toBe("string");
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accepts every generated valid command unchanged", () => {
    fc.assert(
      fc.property(validCommand, (command) => {
        const sent = JSON.parse(JSON.stringify(command));
        expect(parseRequest(sent, 10_000)).toEqual(sent);
      }),
      { numRuns: 200 },
    );
  });

  it.each(mutations)("refuses a %s, naming the item", (_, mutate) => {
    fc.assert(
      fc.property(validCommand, fc.nat(), (command, pick) => {
        const index = pick % command.body.length;
        const body = JSON.parse(JSON.stringify(command.body)) as Array<Record<string, unknown>>;
        mutate(body[index] as Record<string, unknown>);
        const error = validationError({ body });
        expect(error).toBeDefined();
        expect(error?.issues.some((issue) => issue.path.startsWith(`body[${index}]`))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses duplicate ids and more than MAX_ITEMS", () => {
    fc.assert(
      fc.property(validCommand, (command) => {
        const body = [...command.body, { ...command.body[0] }];
        expect(validationError({ body })?.issues).toContainEqual({
          path: `body[${body.length - 1}].id`,
          message: "duplicate of body[0].id",
        });
      }),
      { numRuns: 50 },
    );
    const tooMany = Array.from({ length: 10_001 }, () => ({}));
    expect(validationError({ body: tooMany })?.httpStatus).toBe(413);
  });
});

describe("through the handler", () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  beforeEach(() => world.kustomer.reset());
  afterAll(() => world.stop());

  it("never calls Kustomer for bad input, whatever the trigger's envelope holds", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom("direct", "http"), async (input, trigger) => {
        world.kustomer.reset();
        const event = trigger === "http" ? httpApiEvent({ method: "PUT", path: "/customers/bulk", body: JSON.stringify(input) }) : input;
        // Whatever comes back: an HTTP answer, a submit result, or the error thrown to a direct caller.
        const outcome = await world.invoke<{ name?: string; statusCode?: number; status?: string }>(event, lambdaContext()).then(
          (response) => response,
          (error: Error) => error as { name?: string; statusCode?: number; status?: string },
        );
        // The handler is a fresh module instance, so its error classes are not this file's: match on name.
        const statusCode = outcome.statusCode ?? 0;
        const refused = outcome.name === "ValidationError" || (statusCode >= 400 && statusCode < 500);
        if (refused) expect(world.kustomer.requests).toEqual([]);
        expect(refused || outcome.status === "submitted" || statusCode === 202).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("sends a valid command to Kustomer byte for byte as validated", async () => {
    await fc.assert(
      fc.asyncProperty(validCommand, async (command) => {
        world.kustomer.reset();
        await world.handler(command, lambdaContext());
        const received = world.kustomer.bulkPuts.flatMap((put) => put.body as unknown[]);
        expect(JSON.stringify(received)).toBe(JSON.stringify(command.body.map((item) => ({ ...item, _clientRef: item.id }))));
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    ["base64 garbage", { body: "%%%%", isBase64Encoded: true }, 400],
    ["non-UTF-8 bytes", { body: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]).toString("base64"), isBase64Encoded: true }, 400],
    ["a wrong content type", { headers: { "content-type": "text/csv" } }, 415],
    ["a body over Lambda's 6 MB", { body: `[${"0,".repeat(3_200_000)}0]` }, 413],
    ["a base64 body over 6 MB once decoded", { body: "A".repeat(8_400_000), isBase64Encoded: true }, 413],
  ])("answers %s with a ValidationError and no call to Kustomer", async (_, overrides, status) => {
    const base = httpApiEvent({ method: "PUT", path: "/customers/bulk", body: "[]" });
    const event = { ...base, ...overrides, headers: { ...base.headers, ...(overrides as { headers?: object }).headers } };
    const response = await world.http(event, lambdaContext());
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error.name).toBe("ValidationError");
    expect(world.kustomer.requests).toEqual([]);
  });

  it("handles a body just under 6 MB: validated, and refused for its item count, not its size", async () => {
    const items = Array.from({ length: 10_001 }, (_, index) => ({ id: index.toString(16).padStart(24, "0"), name: "x".repeat(500) }));
    const body = JSON.stringify(items);
    expect(Buffer.byteLength(body)).toBeGreaterThan(5_000_000);
    expect(Buffer.byteLength(body)).toBeLessThan(6 * 1024 * 1024);
    const response = await world.http(httpApiEvent({ method: "PUT", path: "/customers/bulk", body }), lambdaContext());
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body).error.issues).toEqual([
      { path: "body", message: "holds 10001 entries; at most 10000 (MAX_ITEMS) per request" },
    ]);
  });
});
