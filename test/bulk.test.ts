import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KustomerRequestError } from "../lambda/contract/kustomer-errors.ts";
import type { BulkUpdateCommand } from "../lambda/contract/requests.ts";
import { parseRequest } from "../lambda/contract/validation.ts";
import { dryRun, planRequests, requestBody } from "../lambda/core/plan.ts";
import { submitBulkUpdate } from "../lambda/core/submit.ts";
import { KustomerBulkApi } from "../lambda/kustomer/bulk-api.ts";
import { KustomerClient } from "../lambda/kustomer/client.ts";
import { noCounters } from "../lambda/platform/observability.ts";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { failure } from "./support/failures.ts";
import { API_KEY, customerId, customerUpdate, customerUpdates } from "./support/fixtures.ts";

const sandbox = new KustomerSandbox({ apiKey: API_KEY, latencyMs: 30 });
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let client: KustomerClient;

beforeAll(async () => {
  const baseUrl = await sandbox.start();
  client = new KustomerClient({
    baseUrl,
    timeoutMs: 5_000,
    maxAttempts: 1,
    rateLimitHeadroom: 0,
    keys: { getApiKey: async () => API_KEY },
    log: silent,
  });
});
beforeEach(() => sandbox.reset());
afterAll(() => sandbox.stop());

const command = (count: number) => parseRequest({ body: customerUpdates(count) }, 10_000) as BulkUpdateCommand;
const sentIds = () => sandbox.bulkPuts.flatMap((put) => (put.body as Array<{ id: string }>).map((item) => item.id));

/** The operations read back through the port, as a status read lists them. */
async function statusesOf(bulkIds: string[], deadlineAt: number, concurrency: number) {
  const operations = (await new KustomerBulkApi(client).read(bulkIds, deadlineAt, concurrency)).map(({ status }) => status);
  return { allComplete: operations.every((operation) => operation.status === "complete"), operations };
}

describe("planning", () => {
  it("splits items into requests of 100 and ids into lists of 100, never more", () => {
    expect(planRequests(command(250)).map((request) => requestBody(request).length)).toEqual([100, 100, 50]);
    expect(requestBody(planRequests(command(1))[0]!)).toEqual([{ ...customerUpdate(1), _clientRef: customerId(1) }]);
    const ids = Array.from({ length: 201 }, (_, index) => customerId(index + 1));
    const planned = planRequests(parseRequest({ ids, body: [customerUpdate(1)] }, 10_000) as BulkUpdateCommand);
    expect(planned.map((request) => request.customerIds.length)).toEqual([100, 100, 1]);
    expect(planned.every((request) => requestBody(request).length === 1 && requestBody(request)[0]?._clientRef === undefined)).toBe(true);
    expect(dryRun(command(250)).operations.map((operation) => operation.items)).toEqual([100, 100, 50]);
  });
});

describe("reading status", () => {
  it("reads many operations a bounded number at a time, answering in the order asked", async () => {
    const { operations } = await submitBulkUpdate(
      command(1_000),
      { kustomer: new KustomerBulkApi(client), log: silent, counters: noCounters, concurrency: 4 },
      Date.now() + 60_000,
    );
    sandbox.reset();
    const bulkIds = operations.map((operation) => operation.bulkId as string);
    const status = await statusesOf(bulkIds, Date.now() + 60_000, 3);
    expect(status.operations.map((operation) => operation.bulkId)).toEqual(bulkIds);
    expect(sandbox.peakInFlight).toBe(3);
  });
});

describe("per-customer failures", () => {
  it("give Kustomer's code as the reason, or rejected, and mask the emails and phone numbers its words quote", async () => {
    sandbox.inject({
      method: "GET",
      path: /^\/v1\/bulk\/b-1$/,
      fault: { status: 200, body: { data: { id: "b-1", attributes: { status: "complete" } } } },
    });
    sandbox.inject({
      method: "GET",
      path: /^\/v1\/bulk\/b-1\/batches$/,
      fault: {
        status: 200,
        body: {
          data: [
            {
              attributes: {
                successCount: 0,
                failureCount: 2,
                results: [
                  {
                    _clientRef: customerId(1),
                    status: "error",
                    error: { code: "email.taken", message: "email ada.1@example.com is taken" },
                  },
                  { _clientRef: customerId(2), status: "error", error: "phone +1 555 010 0002 is invalid" },
                  { _clientRef: customerId(3), status: "error", error: { code: "ada.3@example.com is a duplicate" } },
                ],
              },
            },
          ],
        },
      },
    });
    const status = await statusesOf(["b-1"], Date.now() + 10_000, 1);
    expect(status.operations[0]?.failures).toEqual([
      { id: customerId(1), error: "email.taken", detail: "email [email] is taken" },
      { id: customerId(2), error: "rejected", detail: "phone [number] is invalid" },
      // A code that is not one is never passed on as one.
      { id: customerId(3), error: "rejected" },
    ]);
  });

  it("leave customer ids out of a failed submit's message, and in its progress", async () => {
    const updates = customerUpdates(300);
    sandbox.inject({ match: (request) => JSON.stringify(request.body).includes(updates[200]!.id), fault: { status: 400 } });
    const error = (await failure(
      submitBulkUpdate(
        command(300),
        { kustomer: new KustomerBulkApi(client), log: silent, counters: noCounters, concurrency: 1 },
        Date.now() + 60_000,
      ),
    )) as KustomerRequestError;
    expect(error.progress?.unsentCustomerIds).toHaveLength(100);
    expect(error.message).toContain("Not sent: 100 customers (listed in unsentCustomerIds)");
    for (const { id } of updates) expect(error.message).not.toContain(id);
  });
});

describe("reading several statuses", () => {
  it("reports an id Kustomer does not know as notFound, and the others as usual", async () => {
    const { operations } = await submitBulkUpdate(
      command(2),
      { kustomer: new KustomerBulkApi(client), log: silent, counters: noCounters, concurrency: 1 },
      Date.now() + 60_000,
    );
    const known = operations[0]!.bulkId as string;
    const status = await statusesOf([known, "5e4c41c8c9f1ffffffffffff"], Date.now() + 10_000, 2);
    expect(status.allComplete).toBe(false);
    expect(status.operations).toEqual([
      expect.objectContaining({ bulkId: known, status: expect.stringMatching(/^(queued|running|complete)$/) }),
      {
        bulkId: "5e4c41c8c9f1ffffffffffff",
        status: "notFound",
        successCount: null,
        failureCount: null,
        failures: [],
        inDoubtCustomerIds: [],
      },
    ]);
  });
});

describe("submitting", () => {
  it("keeps at most `concurrency` requests in flight, sends every item exactly once, and reports in order", async () => {
    const result = await submitBulkUpdate(
      command(1_000),
      { kustomer: new KustomerBulkApi(client), log: silent, counters: noCounters, concurrency: 3 },
      Date.now() + 60_000,
    );
    expect(sandbox.peakInFlight).toBe(3);
    expect(sentIds()).toHaveLength(1_000);
    expect(new Set(sentIds()).size).toBe(1_000);
    expect(result.operations.map((operation) => operation.customerIds[0])).toEqual(
      Array.from({ length: 10 }, (_, index) => customerId(index * 100 + 1)),
    );
  });

  it("starts nothing new after a failure, and accounts for every item as accepted or not", async () => {
    const updates = customerUpdates(1_000);
    sandbox.inject({ match: (request) => JSON.stringify(request.body).includes(updates[200]!.id), fault: { status: 400 } });
    let error: KustomerRequestError | undefined;
    try {
      await submitBulkUpdate(
        command(1_000),
        { kustomer: new KustomerBulkApi(client), log: silent, counters: noCounters, concurrency: 3 },
        Date.now() + 60_000,
      );
    } catch (caught) {
      error = caught as KustomerRequestError;
    }
    expect(error).toBeInstanceOf(KustomerRequestError);
    const { acceptedBulkIds, unsentCustomerIds } = error!.progress!;
    expect(sandbox.bulkPuts.length).toBeLessThan(10);
    expect(new Set(sentIds()).size).toBe(sentIds().length);
    expect(unsentCustomerIds).toEqual(expect.arrayContaining(updates.slice(200, 300).map((update) => update.id)));
    expect(acceptedBulkIds.length * 100 + unsentCustomerIds.length).toBe(1_000);
  });
});
