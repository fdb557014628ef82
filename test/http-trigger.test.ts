import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { customerId, customerUpdate, customerUpdates, httpApiEvent, restApiEvent, SENSITIVE } from "./support/fixtures.ts";
import { findLeaks, lambdaContext, startWorld, type World } from "./support/harness.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_TIMEOUT_MS: "300", KUSTOMER_MAX_ATTEMPTS: "3" });
});
beforeEach(() => world.kustomer.reset());
afterEach(() => expect(findLeaks(world.logs, SENSITIVE)).toEqual([]));
afterAll(() => world.stop());

const invoke = (event: unknown, remainingMs?: number) => world.http(event, lambdaContext(remainingMs));

const submitEvents = {
  "REST API (payload 1.0)": (request: Parameters<typeof restApiEvent>[0]) => restApiEvent(request),
  "HTTP API with IAM (payload 2.0)": (request: Parameters<typeof httpApiEvent>[0]) => httpApiEvent(request),
  "HTTP API without authorizer (payload 2.0)": (request: Parameters<typeof httpApiEvent>[0]) =>
    httpApiEvent(request, "apigw-v2-request-no-authorizer.json"),
  "function URL": (request: Parameters<typeof httpApiEvent>[0]) => httpApiEvent(request, "lambda-urls-request.json"),
};

describe.each(Object.entries(submitEvents))("%s", (_, eventOf) => {
  it("submits the updates and answers 202 with the bulk operation", async () => {
    const response = await invoke(eventOf({ method: "PUT", path: "/customers/bulk", body: customerUpdates(3) }));
    expect(response.statusCode).toBe(202);
    expect(response.headers["content-type"]).toBe("application/json");
    const result = JSON.parse(response.body);
    expect(result).toEqual({
      status: "submitted",
      items: 3,
      operations: [{ bulkId: expect.stringMatching(/^[0-9a-f]{24}$/), status: "queued", items: 3, customerIds: [1, 2, 3].map(customerId) }],
    });
    expect(world.kustomer.bulkPuts).toHaveLength(1);
  });

  it("decodes a base64 body and passes ids from the query string", async () => {
    const ids = [customerId(1), customerId(2), customerId(3)].join(",");
    const response = await invoke(
      eventOf({ method: "PUT", path: "/customers/bulk", query: { ids }, body: [customerUpdate(1)], base64: true }),
    );
    expect(response.statusCode).toBe(202);
    expect(world.kustomer.bulkPuts[0]?.query).toEqual({ ids });
    expect(world.kustomer.bulkPuts[0]?.body).toEqual([customerUpdate(1)]);
  });

  it("reads the status of a bulk operation until it is complete, with per-customer failures", async () => {
    // Customer 2 does not exist in Kustomer, so its update fails there.
    world.kustomer.addCustomers([{ id: customerId(1) }, { id: customerId(3) }]);
    const submitted = JSON.parse((await invoke(eventOf({ method: "PUT", path: "/customers/bulk", body: customerUpdates(3) }))).body);
    const bulkId = submitted.operations[0].bulkId;
    const statuses: unknown[] = [];
    for (let poll = 0; poll < 3; poll += 1) {
      const response = await invoke(eventOf({ method: "GET", path: `/bulk/${bulkId}` }));
      expect(response.statusCode).toBe(200);
      statuses.push(JSON.parse(response.body));
      world.advance(500);
    }
    expect(statuses).toEqual([
      {
        allComplete: false,
        operations: [{ bulkId, status: "queued", successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] }],
      },
      {
        allComplete: false,
        operations: [{ bulkId, status: "running", successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] }],
      },
      {
        allComplete: true,
        operations: [
          {
            bulkId,
            status: "complete",
            successCount: 2,
            failureCount: 1,
            failures: [{ id: customerId(2), error: "rejected", detail: "customer not found" }],
            inDoubtCustomerIds: [],
          },
        ],
        items: 3,
        applied: 2,
        failed: 1,
        inDoubt: 0,
        unsent: 0,
        unchanged: 0,
      },
    ]);
  });
});

describe("HTTP requests", () => {
  const put = (request: Partial<Parameters<typeof httpApiEvent>[0]>) =>
    invoke(httpApiEvent({ method: "PUT", path: "/customers/bulk", body: customerUpdates(2), ...request }));

  it("plans a dry run without calling Kustomer, answering 200", async () => {
    const response = await put({ query: { dryRun: "true" }, body: customerUpdates(150) });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      status: "dryRun",
      items: 150,
      operations: [
        { bulkId: null, status: "planned", items: 100 },
        { bulkId: null, status: "planned", items: 50 },
      ],
    });
    expect(world.kustomer.requests).toEqual([]);
  });

  it("works behind a stage prefix in the path", async () => {
    expect((await put({ path: "/prod/customers/bulk" })).statusCode).toBe(202);
  });

  it.each([
    ["invalid JSON", { body: "[{" }, 400, [{ path: "body", message: "is not valid JSON" }]],
    ["no body", { body: undefined }, 400, [{ path: "body", message: "is required: a JSON array of customer updates" }]],
    [
      "an object instead of an array",
      { body: { id: customerId(1) } },
      400,
      [{ path: "body", message: expect.stringContaining("expected array") }],
    ],
    [
      "a wrong content type",
      { headers: { "content-type": "text/plain" } },
      415,
      [{ path: "body", message: "Content-Type must be application/json (or application/*+json)" }],
    ],
    [
      "a form post",
      { headers: { "content-type": "application/x-www-form-urlencoded" } },
      415,
      [{ path: "body", message: expect.stringContaining("application/json") }],
    ],
    ["no content type", { headers: { "content-type": "" } }, 415, [{ path: "body", message: expect.stringContaining("application/json") }]],
    [
      "an unknown query parameter",
      { query: { dryrun: "true" } },
      400,
      [{ path: "dryrun", message: "is not a query parameter; use ids, dryRun or fullResync" }],
    ],
    ["a dryRun that is not true or false", { query: { dryRun: "yes" } }, 400, [{ path: "dryRun", message: expect.any(String) }]],
    [
      "a wrong route",
      { path: "/customers" },
      404,
      [{ path: "", message: "no route for PUT on this path; routes are PUT /customers/bulk and GET /bulk/{bulkId}" }],
    ],
    ["a wrong method", { method: "POST" }, 404, [{ path: "", message: expect.stringContaining("no route for POST") }]],
  ])("refuses %s with a JSON ValidationError and never calls Kustomer", async (_, request, status, issues) => {
    const response = await put(request as Partial<Parameters<typeof httpApiEvent>[0]>);
    expect(response.statusCode).toBe(status);
    const { error } = JSON.parse(response.body);
    expect(error).toMatchObject({ name: "ValidationError", issues });
    expect(world.kustomer.requests).toEqual([]);
  });

  it("answers a hostile 6 MB body with a small 400: the first 100 issues and how many were found", async () => {
    const wrong = Object.fromEntries(Array.from({ length: 35 }, (_, index) => [`f${index}Num`, "xx"]));
    const body = Array.from({ length: 10_000 }, (_, index) => ({ id: customerId(index + 1), custom: wrong }));
    const text = JSON.stringify(body);
    expect(text.length).toBeGreaterThan(5_000_000);
    expect(text.length).toBeLessThan(6 * 1024 * 1024);
    const response = await put({ body: text });
    expect(response.statusCode).toBe(400);
    expect(Buffer.byteLength(response.body)).toBeLessThan(256 * 1024);
    const { error } = JSON.parse(response.body);
    expect(error.issues).toHaveLength(100);
    expect(error.issues[0]).toEqual({ path: "body[0].custom.f0Num", message: "a Num attribute must be a number, or null" });
    // Checking stops at the item that fills the list: the third, with 35 issues of its own.
    expect(error.issueCount).toBe(105);
    expect(world.kustomer.requests).toEqual([]);
  });

  it("answers a 4.8 MB body of long unknown keys with a small 400 that counts them, quoting none", async () => {
    const keys = Object.fromEntries(Array.from({ length: 4_800 }, (_, index) => [`${"k".repeat(1_000)}${index}`, 1]));
    const text = JSON.stringify([{ id: customerId(1), ...keys }]);
    expect(text.length).toBeGreaterThan(4_800_000);
    const response = await put({ body: text });
    expect(response.statusCode).toBe(400);
    expect(Buffer.byteLength(response.body)).toBeLessThan(2_000);
    expect(JSON.parse(response.body).error.issues).toEqual([{ path: "body[0]", message: "has 4800 unknown fields" }]);
  });

  it("keeps an email used as a key out of the answer and the logs", async () => {
    const email = "grace.hopper@example.org";
    const response = await put({ body: [{ id: customerId(1), [email]: true, custom: { [email]: "x" } }] });
    expect(response.statusCode).toBe(400);
    expect(response.body).not.toContain(email);
    expect(world.logs.join("")).not.toContain(email);
  });

  it("answers 413 over the item limit", async () => {
    const response = await put({ body: customerUpdates(10_001) });
    expect(response.statusCode).toBe(413);
    expect(world.kustomer.requests).toEqual([]);
  });

  it.each([
    ["base64 garbage", "%%%not base64%%%", "is flagged base64 but is not valid base64"],
    ["bytes that are not UTF-8", Buffer.from([0x5b, 0xff, 0xfe, 0x5d]).toString("base64"), "is not valid UTF-8"],
  ])("refuses %s in a base64 body", async (_, body, message) => {
    const event = httpApiEvent({ method: "PUT", path: "/customers/bulk" });
    const response = await invoke({ ...event, body, isBase64Encoded: true });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.issues).toEqual([{ path: "body", message }]);
    expect(world.kustomer.requests).toEqual([]);
  });

  it("answers GET /bulk/{bulkId} of an operation Kustomer does not know with 404 NotFoundError", async () => {
    const response = await invoke(httpApiEvent({ method: "GET", path: "/bulk/5e4c41c8c9f1ffffffffffff" }));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({
      error: { name: "NotFoundError", message: "Kustomer knows no bulk operation 5e4c41c8c9f1ffffffffffff" },
    });
  });

  it("names the path segment of a malformed bulk id, and says what a valid one looks like", async () => {
    const response = await invoke(httpApiEvent({ method: "GET", path: "/bulk/not%20an%20id" }));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.issues).toEqual([
      { path: "bulkId", message: expect.stringMatching(/^must be a Kustomer bulk operation id.*e\.g\. [0-9a-f]{24}$/) },
    ]);
    expect(world.kustomer.requests).toEqual([]);
  });

  it("takes uppercase customer ids and sends them in Kustomer's lowercase", async () => {
    const upper = { ...customerUpdate(1), id: customerId(1).toUpperCase() };
    const response = await put({ body: [upper], query: { ids: `${customerId(1).toUpperCase()},${customerId(2)}` } });
    expect(response.statusCode).toBe(202);
    expect(world.kustomer.bulkPuts[0]?.query).toEqual({ ids: `${customerId(1)},${customerId(2)}` });
    expect((world.kustomer.bulkPuts[0]!.body as Array<{ id: string }>)[0]?.id).toBe(customerId(1));
  });

  it.each([
    ["a submit", () => put({})],
    ["a refused body", () => put({ body: "[" })],
    ["a status read", () => invoke(httpApiEvent({ method: "GET", path: "/bulk/5e4c41c8c9f1ffffffffffff" }))],
  ])("ends the JSON answer to %s with a newline", async (_case, send) => {
    expect((await send()).body.endsWith("}\n")).toBe(true);
  });

  it("maps Kustomer failures to the contract's statuses", async () => {
    world.kustomer.inject({ fault: { status: 403 } });
    expect((await put({})).statusCode).toBe(502);

    world.kustomer.inject({
      fault: { status: 400, body: { errors: [{ status: 400, code: "bad_request", title: "Bad custom attribute" }] } },
    });
    const rejected = await put({});
    expect(rejected.statusCode).toBe(422);
    expect(JSON.parse(rejected.body).error).toMatchObject({
      name: "KustomerRequestError",
      kustomer: { status: 400, errors: [{ status: 400, code: "bad_request", title: "Bad custom attribute" }] },
    });

    world.kustomer.inject({ times: 3, fault: { status: 500 } });
    const unavailable = await put({});
    expect(unavailable.statusCode).toBe(503);
    expect(JSON.parse(unavailable.body).error.name).toBe("KustomerUnavailableError");

    // A status read that gets no answer: nothing is in doubt about a read, and it times out.
    world.kustomer.inject({ times: 3, fault: { hang: true } });
    const timedOut = await invoke(httpApiEvent({ method: "GET", path: "/bulk/5e4c41c8c9f1ffffffffffff" }));
    expect(timedOut.statusCode).toBe(504);
    expect(JSON.parse(timedOut.body).error.name).toBe("KustomerUnavailableError");
  });

  it("lists the customers a complete operation's answer does not account for as in doubt", async () => {
    const updates = customerUpdates(100);
    const submitted = JSON.parse((await put({ body: updates })).body) as { operations: Array<{ bulkId: string }> };
    const itemised = updates.slice(0, 5).map(({ id }) => ({ _clientRef: id, objectId: id, status: "error", error: "customer not found" }));
    world.kustomer.inject({
      method: "GET",
      path: /\/batches$/,
      fault: {
        status: 200,
        body: { data: [{ successCount: 60, failureCount: 10, objectIds: updates.map(({ id }) => id), results: itemised }] },
      },
    });
    world.advance(1_000);
    const status = JSON.parse((await invoke(httpApiEvent({ method: "GET", path: `/bulk/${submitted.operations[0]!.bulkId}` }))).body);
    expect(status.operations[0].failures).toHaveLength(5);
    expect(status.operations[0].inDoubtCustomerIds).toEqual(updates.slice(5).map(({ id }) => id));
  });

  it("answers 202 with the customers in doubt when a write got no answer: never 'not sent'", async () => {
    world.kustomer.inject({ times: 3, fault: { hang: true } });
    const updates = customerUpdates(2);
    const response = await put({ body: updates });
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({
      operations: [{ bulkId: null, status: "inDoubt", items: 2 }],
      inDoubtCustomerIds: updates.map(({ id }) => id),
    });
  });

  it("reports accepted bulk ids and unsent customer ids when a later chunk fails", async () => {
    const updates = customerUpdates(250);
    // The third request (customers 201 to 250) is rejected for good; the other two are accepted.
    const third = (request: { body: unknown }) => JSON.stringify(request.body).includes(updates[200]!.id);
    world.kustomer.inject({ match: third, fault: { status: 400, body: { errors: [{ code: "bad_request", title: "rejected" }] } } });
    const response = await put({ body: updates });
    expect(world.kustomer.bulkPuts).toHaveLength(3);
    expect(response.statusCode).toBe(422);
    const { error } = JSON.parse(response.body);
    expect(error.acceptedBulkIds).toHaveLength(2);
    expect(error.unsentCustomerIds).toEqual(updates.slice(200).map((update) => update.id));
    expect(error.message).toContain(`Accepted before the failure: bulk ids ${error.acceptedBulkIds.join(",")}`);
  });

  it("names no host, port or stack in a network failure's answer", async () => {
    world.kustomer.inject({ times: 3, fault: { reset: true } });
    const response = await invoke(httpApiEvent({ method: "GET", path: "/bulk/5e4c41c8c9f1ffffffffffff" }));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).error.message).toBe("could not reach Kustomer for GET /v1/bulk/5e4c41c8c9f1ffffffffffff: ECONNRESET");
    expect(response.body).not.toMatch(/127\.0\.0\.1|localhost|\.ts:\d+/);
  });

  // Last in this file: the warm client keeps a 429's Retry-After for the commands after it too.
  it("answers 429 with Kustomer's Retry-After when it is longer than the caller can wait, and holds the next command back as well", async () => {
    world.kustomer.inject({ fault: { status: 429, headers: { "retry-after": "120" } } });
    const limited = await put({});
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBe("120");
    expect(JSON.parse(limited.body).error.name).toBe("KustomerRateLimitError");
    const puts = world.kustomer.bulkPuts.length;
    expect((await put({})).statusCode).toBe(429);
    expect(world.kustomer.bulkPuts).toHaveLength(puts);
  });
});
