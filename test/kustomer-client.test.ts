import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import type { ApiKeyProvider } from "../lambda/adapters/aws/secrets.ts";
import {
  KustomerAuthError,
  KustomerRateLimitError,
  KustomerRequestError,
  KustomerUnavailableError,
} from "../lambda/contract/kustomer-errors.ts";
import { KustomerClient } from "../lambda/kustomer/client.ts";
import { MAX_ERROR_DETAILS, parseKustomerErrors } from "../lambda/kustomer/wire.ts";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { failure } from "./support/failures.ts";
import { API_KEY, customerUpdates, ROTATED_API_KEY } from "./support/fixtures.ts";

const kustomer = new KustomerSandbox({ apiKey: API_KEY });
let baseUrl: string;
beforeAll(async () => {
  baseUrl = await kustomer.start();
});
afterAll(() => kustomer.stop());
beforeEach(() => kustomer.reset());

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const bulkResponse = z.object({ data: z.object({ id: z.string() }) });
const bulkPut = { method: "PUT" as const, path: "/v1/customers/bulk", body: customerUpdates(2) };

/** A client on a virtual clock: sleeping advances time instantly and is recorded. */
function clientWith(options: { keys?: ApiKeyProvider; maxAttempts?: number; timeoutMs?: number; rateLimitHeadroom?: number } = {}) {
  let offset = 0;
  const sleeps: number[] = [];
  const now = () => Date.now() + offset;
  const client = new KustomerClient({
    baseUrl,
    timeoutMs: options.timeoutMs ?? 2_000,
    maxAttempts: options.maxAttempts ?? 5,
    rateLimitHeadroom: options.rateLimitHeadroom ?? 0,
    keys: options.keys ?? { getApiKey: async () => API_KEY },
    log: silent,
    now,
    random: () => 1,
    sleep: async (ms) => {
      sleeps.push(ms);
      offset += ms;
    },
  });
  return { client, sleeps, deadline: (ms: number) => now() + ms };
}

describe("the Kustomer client", () => {
  it("sends the bearer key, JSON body and query to the base URL", async () => {
    const { client, deadline } = clientWith();
    const { data, attempts } = await client.send({ ...bulkPut, query: { ids: "a,b" } }, bulkResponse, deadline(10_000));
    expect(data.data.id).toMatch(/^[0-9a-f]{24}$/);
    expect(attempts).toBe(1);
    const [request] = kustomer.requests;
    expect(request).toMatchObject({ method: "PUT", path: "/v1/customers/bulk", query: { ids: "a,b" }, body: bulkPut.body });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      accept: "application/json",
      "user-agent": "kustomer-bulk-update",
    });
  });

  it("follows no redirect, which could carry the key elsewhere", async () => {
    kustomer.inject({ fault: { status: 307, headers: { location: `${baseUrl}/v1/elsewhere` }, body: "" } });
    const { client, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toBeInstanceOf(KustomerRequestError);
    expect(error).toMatchObject({ kustomerStatus: 307 });
    expect(kustomer.requests.map((request) => request.path)).toEqual(["/v1/customers/bulk"]);
  });

  it("waits as long as Retry-After says on 429, then succeeds", async () => {
    kustomer.inject({ fault: { status: 429, headers: { "retry-after": "2" } } });
    const { client, sleeps, deadline } = clientWith();
    expect((await client.send(bulkPut, bulkResponse, deadline(30_000))).attempts).toBe(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(1_900);
    expect(sleeps[0]).toBeLessThanOrEqual(2_000);
  });

  it("without Retry-After, waits until x-ratelimit-reset (epoch seconds)", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 3;
    kustomer.inject({ fault: { status: 429, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) } } });
    const { client, sleeps, deadline } = clientWith();
    const untilReset = reset * 1000 - Date.now();
    await client.send(bulkPut, bulkResponse, deadline(30_000));
    const waited = sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThan(untilReset - 500);
    expect(waited).toBeLessThanOrEqual(untilReset);
  });

  it("after a response that spends the budget, waits for the reset before the next request", async () => {
    kustomer.inject({
      fault: { status: 201, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "5" }, body: { data: { id: "first" } } },
    });
    const { client, sleeps, deadline } = clientWith();
    await client.send(bulkPut, bulkResponse, deadline(30_000));
    expect(sleeps).toEqual([]);
    await client.send(bulkPut, bulkResponse, deadline(30_000));
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(4_900);
  });

  it.each([
    ["a reset a day ahead", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 86_400) }],
    ["60000 meant as milliseconds", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60000" }],
    ["a Retry-After of a day", { "retry-after": "86400" }],
  ])("does not believe %s: capped backoff instead, and the next request is not held back", async (_, headers) => {
    kustomer.inject({ fault: { status: 429, headers } });
    const { client, sleeps, deadline } = clientWith();
    expect((await client.send(bulkPut, bulkResponse, deadline(60_000))).attempts).toBe(2);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(5_000);
    kustomer.inject({ fault: { status: 201, headers, body: { data: { id: "poisoned" } } } });
    await client.send(bulkPut, bulkResponse, deadline(60_000));
    expect((await client.send(bulkPut, bulkResponse, deadline(60_000))).attempts).toBe(1);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(5_000);
  });

  it("backs off exponentially, capped, on 429s without headers", async () => {
    kustomer.inject({ times: 4, fault: { status: 429 } });
    const { client, sleeps, deadline } = clientWith();
    expect((await client.send(bulkPut, bulkResponse, deadline(60_000))).attempts).toBe(5);
    // Full jitter under a ceiling doubling from 200 ms (the test's random() is 1: the ceiling itself).
    expect(sleeps).toEqual([200, 400, 800, 1_600]);
  });

  it("holds the next request back for a 429's Retry-After, not only the one refused", async () => {
    kustomer.inject({ fault: { status: 429, headers: { "retry-after": "3" } } });
    const { client, sleeps, deadline } = clientWith({ maxAttempts: 1 });
    await expect(client.send(bulkPut, bulkResponse, deadline(60_000))).rejects.toMatchObject({ name: "KustomerRateLimitError" });
    await client.send(bulkPut, bulkResponse, deadline(60_000));
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_500);
  });

  it("refuses to wait for a reset past the deadline, sending nothing, with Retry-After for the caller", async () => {
    kustomer.inject({
      fault: { status: 201, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "20" }, body: { data: { id: "x" } } },
    });
    const { client, deadline } = clientWith();
    await client.send(bulkPut, bulkResponse, deadline(30_000));
    const sent = kustomer.requests.length;
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(5_000)));
    expect(error).toBeInstanceOf(KustomerRateLimitError);
    expect((error as KustomerRateLimitError).retryAfterSeconds).toBe(20);
    expect(kustomer.requests.length).toBe(sent);
  });

  describe("keeps a share of the org's budget free for its other integrations", () => {
    const answered = (limit: number, remaining: number, resetInSeconds: number) =>
      ({
        status: 201,
        headers: {
          "x-ratelimit-limit": String(limit),
          "x-ratelimit-remaining": String(remaining),
          "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + resetInSeconds),
        },
        body: { data: { id: "b" } },
      }) as const;

    it.each([
      ["holds back once one more would dip into the headroom", 0.2, 20, true],
      ["sends while one more stays above it", 0.2, 21, false],
      ["with a headroom of 0, sends until the budget is spent", 0, 20, false],
      ["with a headroom of 0, waits out a spent budget", 0, 0, true],
    ])("%s", async (_, headroom, remaining, waits) => {
      kustomer.inject({ fault: answered(100, remaining, 10) });
      const { client, sleeps, deadline } = clientWith({ rateLimitHeadroom: headroom });
      await client.send(bulkPut, bulkResponse, deadline(30_000));
      await client.send(bulkPut, bulkResponse, deadline(30_000));
      expect(kustomer.requests).toHaveLength(2);
      if (waits) {
        expect(sleeps).toHaveLength(1);
        expect(sleeps[0]).toBeGreaterThan(9_000);
      } else {
        expect(sleeps).toEqual([]);
      }
    });

    it("spreads the last half of its share over what is left of the window", async () => {
      // 30 left of 100 with 20 kept free: 10 may go in the next ~10 s, about one a second.
      kustomer.inject({ times: 5, fault: answered(100, 30, 10) });
      const { client, sleeps, deadline } = clientWith({ rateLimitHeadroom: 0.2 });
      for (let sent = 0; sent < 5; sent += 1) await client.send(bulkPut, bulkResponse, deadline(30_000));
      expect(sleeps).toHaveLength(3);
      for (const sleep of sleeps) {
        expect(sleep).toBeGreaterThan(700);
        expect(sleep).toBeLessThan(1_300);
      }
    });

    it("does not pace while more than half of its share is left", async () => {
      kustomer.inject({ times: 5, fault: answered(100, 70, 10) });
      const { client, sleeps, deadline } = clientWith({ rateLimitHeadroom: 0.2 });
      for (let sent = 0; sent < 5; sent += 1) await client.send(bulkPut, bulkResponse, deadline(30_000));
      expect(sleeps).toEqual([]);
    });

    it("refuses at once, sending nothing, when the reset is past the deadline", async () => {
      kustomer.inject({ fault: answered(100, 20, 20) });
      const { client, deadline } = clientWith({ rateLimitHeadroom: 0.2 });
      await client.send(bulkPut, bulkResponse, deadline(30_000));
      const error = await failure(client.send(bulkPut, bulkResponse, deadline(5_000)));
      expect(error).toBeInstanceOf(KustomerRateLimitError);
      expect((error as KustomerRateLimitError).retryAfterSeconds).toBeGreaterThanOrEqual(19);
      expect(kustomer.requests).toHaveLength(1);
    });
  });

  it("retries 5xx with capped exponential backoff and gives up after the attempts", async () => {
    kustomer.inject({ times: 5, fault: { status: 500 } });
    const { client, sleeps, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(60_000)));
    expect(error).toBeInstanceOf(KustomerUnavailableError);
    expect(error).toMatchObject({ httpStatus: 503, kustomerStatus: 500 });
    expect(kustomer.requests).toHaveLength(5);
    // random() = 1 shows the ceiling of each full-jitter draw: 200 ms doubling.
    expect(sleeps).toEqual([200, 400, 800, 1600]);
  });

  it("caps the backoff", async () => {
    kustomer.inject({ times: 8, fault: { status: 503 } });
    const { client, sleeps, deadline } = clientWith({ maxAttempts: 9 });
    await client.send(bulkPut, bulkResponse, deadline(120_000));
    expect(Math.max(...sleeps)).toBe(5_000);
  });

  it("stops retrying when the next wait would pass the deadline", async () => {
    kustomer.inject({ times: 5, fault: { status: 502 } });
    const { client, sleeps, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(1_000)));
    expect(error).toBeInstanceOf(KustomerUnavailableError);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(1_000);
    expect(kustomer.requests.length).toBeLessThan(5);
  });

  it("times out a hanging request and reports 504-style unavailability", async () => {
    kustomer.inject({ times: 2, fault: { hang: true } });
    const { client, deadline } = clientWith({ maxAttempts: 2, timeoutMs: 200 });
    const started = Date.now();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toBeInstanceOf(KustomerUnavailableError);
    expect(error).toMatchObject({ timedOut: true, httpStatus: 504 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("retries a connection reset, and says the customers are in doubt when every attempt went unanswered", async () => {
    kustomer.inject({ fault: { reset: true } });
    const { client, deadline } = clientWith();
    expect((await client.send(bulkPut, bulkResponse, deadline(10_000))).attempts).toBe(2);
    kustomer.inject({ times: 5, fault: { reset: true } });
    expect(await failure(client.send(bulkPut, bulkResponse, deadline(10_000)))).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: true,
    });
  });

  it("never sends again a write Kustomer accepted with a 2xx it could not read: its customers are in doubt", async () => {
    kustomer.inject({ fault: { status: 201, body: '{"data":{"type":"bulk","id":' } });
    const { client, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toMatchObject({ name: "KustomerUnavailableError", inDoubt: true, kustomerStatus: 201 });
    expect(kustomer.bulkPuts).toHaveLength(1);
  });

  it("reads a status again when its 2xx answer cannot be read: a read changes nothing", async () => {
    kustomer.inject({ method: "GET", fault: { status: 200, body: "<html>proxy</html>" } });
    const { client, deadline } = clientWith();
    await expect(
      client.send({ method: "GET", path: "/v1/bulk/5e4c41c8c9f1e7001a5a3b2c" }, bulkResponse, deadline(10_000)),
    ).rejects.toMatchObject({ inDoubt: false });
    expect(kustomer.requests.filter((request) => request.method === "GET").length).toBeGreaterThan(1);
  });

  it("reads no answer past 1 MB: a 2xx to a write is in doubt and not sent again, any other is retried", async () => {
    const huge = { data: { id: "x" }, padding: "a".repeat(2 * 1024 * 1024) };
    kustomer.inject({ method: "PUT", fault: { status: 201, body: huge } });
    const { client, deadline } = clientWith();
    expect(await failure(client.send(bulkPut, bulkResponse, deadline(10_000)))).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: true,
      kustomerStatus: 201,
    });
    expect(kustomer.bulkPuts).toHaveLength(1);
    kustomer.inject({ method: "GET", times: 5, fault: { status: 200, body: huge } });
    expect(
      await failure(client.send({ method: "GET", path: "/v1/bulk/5e4c41c8c9f1e7001a5a3b2c" }, bulkResponse, deadline(10_000))),
    ).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: false,
      message: expect.stringContaining("over 1 MB"),
    });
  });

  it("never sends again a write whose 2xx was cut off mid-body", async () => {
    kustomer.inject({ method: "PUT", fault: { reset: true, midResponse: true } });
    const { client, deadline } = clientWith();
    expect(await failure(client.send(bulkPut, bulkResponse, deadline(10_000)))).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: true,
      kustomerStatus: 201,
    });
    expect(kustomer.bulkPuts).toHaveLength(1);
  });

  it("keeps a write in doubt when a later attempt fails before sending", async () => {
    // The first attempt times out after its body went out; the retry finds the key unavailable.
    kustomer.inject({ method: "PUT", fault: { hang: true } });
    let calls = 0;
    const keys = {
      getApiKey: async () => {
        calls += 1;
        if (calls > 1) throw new Error("secret store down");
        return API_KEY;
      },
    };
    const { client, deadline } = clientWith({ keys, timeoutMs: 200 });
    expect(await failure(client.send(bulkPut, bulkResponse, deadline(10_000)))).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: true,
    });
  });

  it("says nothing is in doubt when Kustomer answered every attempt", async () => {
    kustomer.inject({ times: 5, fault: { status: 503 } });
    const { client, deadline } = clientWith();
    expect(await failure(client.send(bulkPut, bulkResponse, deadline(10_000)))).toMatchObject({
      name: "KustomerUnavailableError",
      inDoubt: false,
      kustomerStatus: 503,
    });
  });

  it("does not retry other 4xx, and carries Kustomer's error detail without personal data", async () => {
    kustomer.inject({
      fault: {
        status: 400,
        body: {
          errors: [
            {
              status: 400,
              code: "bad_request",
              title: "Validation failed",
              meta: { subErrors: [{ title: "email ada@example.com is invalid", source: { pointer: "/0/emails/0/email" } }] },
            },
          ],
        },
      },
    });
    const { client, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toBeInstanceOf(KustomerRequestError);
    expect(kustomer.requests).toHaveLength(1);
    expect((error as KustomerRequestError).details).toEqual([
      { status: 400, code: "bad_request", title: "Validation failed" },
      { title: "email [email] is invalid", pointer: "/0/emails/0/email" },
    ]);
    expect(error.message).not.toContain("ada@example.com");
  });

  it("fetches the key once more on 401, then gives up with KustomerAuthError", async () => {
    const forced: boolean[] = [];
    const rotating: ApiKeyProvider = {
      async getApiKey({ forceRefresh = false } = {}) {
        forced.push(forceRefresh);
        return forceRefresh ? ROTATED_API_KEY : "kst_stale";
      },
    };
    kustomer.apiKeys.add(ROTATED_API_KEY);
    const { client, deadline } = clientWith({ keys: rotating });
    expect((await client.send(bulkPut, bulkResponse, deadline(10_000))).attempts).toBe(2);
    expect(forced).toEqual([false, true]);

    kustomer.apiKeys.delete(ROTATED_API_KEY);
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toBeInstanceOf(KustomerAuthError);
    expect(error).toMatchObject({ kustomerStatus: 401, httpStatus: 502 });
  });

  it("reports 403 at once as KustomerAuthError", async () => {
    kustomer.inject({ fault: { status: 403 } });
    const { client, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toMatchObject({ name: "KustomerAuthError", kustomerStatus: 403 });
    expect(kustomer.requests).toHaveLength(1);
  });

  it("does not follow a redirect, which could carry the key elsewhere", async () => {
    kustomer.inject({ fault: { status: 307, headers: { location: "http://127.0.0.1:9/steal" } } });
    const { client, deadline } = clientWith();
    const error = await failure(client.send(bulkPut, bulkResponse, deadline(10_000)));
    expect(error).toBeInstanceOf(KustomerRequestError);
    expect(kustomer.requests).toHaveLength(1);
  });
});

describe("Kustomer's error shapes", () => {
  it("reads both errors[].code/message/meta and JSON:API status/code/title/detail/source", () => {
    expect(parseKustomerErrors({ errors: [{ code: "bad_request", message: "Invalid custom attribute", meta: {} }] })).toEqual([
      { code: "bad_request", title: "Invalid custom attribute" },
    ]);
    expect(
      parseKustomerErrors({
        errors: [{ status: "422", code: "invalid", title: "Invalid", detail: "rev mismatch", source: { parameter: "ids" } }],
      }),
    ).toEqual([{ status: 422, code: "invalid", title: "Invalid", detail: "rev mismatch", pointer: "ids" }]);
    expect(parseKustomerErrors("not json")).toEqual([]);
  });

  it(`keeps at most ${MAX_ERROR_DETAILS} details of a hostile answer: 20,000 nested subErrors, codes that quote data`, () => {
    const nested = `${'{"code":"level","meta":{"subErrors":['.repeat(20_000)}{"code":"leaf"}${"]}}".repeat(20_000)}`;
    const details = parseKustomerErrors(JSON.parse(`{"errors":[${nested}]}`));
    expect(details).toHaveLength(MAX_ERROR_DETAILS);
    const quoting = parseKustomerErrors({
      errors: [{ code: `invalid ada@example.com ${"x".repeat(500)}`, source: { pointer: `/0/emails/ada@example.com` } }],
    });
    expect(quoting[0]!.code).toHaveLength(64);
    expect(JSON.stringify(quoting)).not.toContain("ada@");
  });
});
