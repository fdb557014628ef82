// Which caller received which bulk ids (CONTRACT §2.3, §2.6), kept in the stack's table on a real
// local DynamoDB (dynalite) through the real SDK: a caller reads only the operations it submitted, and
// a recorded id Kustomer does not know yet is pending, then, past the grace, its customers are in doubt.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { shiftedClock } from "./support/clock.ts";
import { customerId, customerUpdates, restApiEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorldWithTables, type WorldWithTables } from "./support/harness.ts";

const TABLE = "kbu-records";
const ROLE = "arn:aws:sts::123456789012:assumed-role/order-sync";
let world: WorldWithTables;

beforeAll(async () => {
  world = await startWorldWithTables([TABLE], { IDEMPOTENCY_TABLE_NAME: TABLE, KUSTOMER_MAX_ATTEMPTS: "2" });
});
beforeEach(() => {
  world.kustomer.reset();
  world.dynamodb.faults.length = 0;
});
afterAll(async () => {
  await world.stop();
});

/** A REST API request signed by `identity` (IAM: its userArn; API key: its apiKeyId). */
function as(identity: { userArn?: string; apiKeyId?: string }, request: Parameters<typeof restApiEvent>[0]) {
  const event = restApiEvent(request);
  return {
    ...event,
    requestContext: { ...event.requestContext, identity: { ...event.requestContext.identity, userArn: null, apiKeyId: null, ...identity } },
  };
}
const session = (name: string) => ({ userArn: `${ROLE}/${name}` });
const call = async (event: unknown) => {
  const response = (await world.handler(event, lambdaContext())) as { statusCode: number; body: string };
  return { status: response.statusCode, body: JSON.parse(response.body) };
};
const submit = (identity: { userArn?: string; apiKeyId?: string }, body: unknown) =>
  call(as(identity, { method: "PUT", path: "/customers/bulk", body, headers: { "content-type": "application/json" } }));
const read = (identity: { userArn?: string; apiKeyId?: string }, bulkId: string) =>
  call(as(identity, { method: "GET", path: `/bulk/${bulkId}` }));
const statusReads = () => world.kustomer.requests.filter((request) => request.method === "GET").length;
const NOT_FOUND_ANSWER = { status: 404, body: { errors: [{ status: 404, code: "not_found", title: "Not Found" }] } };

describe("status reads of recorded bulk ids", () => {
  it("reads a caller's own operation from any of its sessions, and answers another caller 404 without asking Kustomer", async () => {
    world.kustomer.addCustomers(customerUpdates(2));
    const submitted = await submit(session("monday"), customerUpdates(2));
    const bulkId = submitted.body.operations[0].bulkId as string;
    expect((await read(session("tuesday"), bulkId)).status).toBe(200);
    const reads = statusReads();

    const other = await read({ userArn: "arn:aws:sts::123456789012:assumed-role/someone-else/monday" }, bulkId);
    expect(other).toMatchObject({ status: 404, body: { error: { name: "NotFoundError" } } });
    expect(await read({ apiKeyId: "another-key" }, bulkId)).toMatchObject({ status: 404 });
    expect(statusReads()).toBe(reads);
  });

  it("answers 404 for an id no caller recorded, without asking Kustomer", async () => {
    expect(await read(session("monday"), customerId(9_999))).toMatchObject({ status: 404, body: { error: { name: "NotFoundError" } } });
    expect(statusReads()).toBe(0);
  });

  it("lets a caller read what was accepted before a submit failed", async () => {
    const updates = customerUpdates(150);
    world.kustomer.addCustomers(updates);
    world.kustomer.inject({
      method: "PUT",
      match: (request) => JSON.stringify(request.body).includes(customerId(101)),
      fault: { status: 400 },
    });
    const failed = await submit({ apiKeyId: "partner-key" }, updates);
    expect(failed).toMatchObject({ status: 422, body: { error: { acceptedBulkIds: [expect.any(String)] } } });
    const [accepted] = failed.body.error.acceptedBulkIds as string[];
    expect((await read({ apiKeyId: "partner-key" }, accepted!)).status).toBe(200);
  });

  it("keeps Kustomer's answer when the table cannot record it", async () => {
    world.kustomer.inject({
      method: "PUT",
      match: () => {
        world.dynamodb.faults.push(...Array(10).fill("InternalServerError"));
        return false;
      },
      fault: { status: 500 },
    });
    world.kustomer.addCustomers(customerUpdates(1));
    const submitted = await submit(session("monday"), customerUpdates(1));
    expect(submitted).toMatchObject({ status: 202, body: { operations: [{ bulkId: expect.any(String) }] } });
  });

  describe("that Kustomer answers 404 for", () => {
    const clock = shiftedClock();

    it("is pending right after the submit, not a 404, then read as Kustomer has it", async () => {
      world.kustomer.addCustomers(customerUpdates(3));
      const submitted = await submit(session("monday"), customerUpdates(3));
      const bulkId = submitted.body.operations[0].bulkId as string;
      world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\/[^/]+$/, fault: NOT_FOUND_ANSWER });
      expect(await read(session("monday"), bulkId)).toEqual({
        status: 200,
        body: {
          allComplete: false,
          operations: [{ bulkId, status: "pending", successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] }],
        },
      });
      world.advance(1_000);
      expect((await read(session("monday"), bulkId)).body).toMatchObject({ allComplete: true, items: 3, applied: 3, inDoubt: 0 });
    });

    it("leaves its customers in doubt, never failed, past KUSTOMER_NOT_FOUND_GRACE_SECONDS", async () => {
      const updates = customerUpdates(3);
      world.kustomer.addCustomers(updates);
      const submitted = await submit(session("monday"), updates);
      const bulkId = submitted.body.operations[0].bulkId as string;
      world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\/[^/]+$/, times: 10, fault: NOT_FOUND_ANSWER });
      clock.shift(301_000);
      expect(await read(session("monday"), bulkId)).toEqual({
        status: 200,
        body: {
          allComplete: true,
          operations: [
            {
              bulkId,
              status: "inDoubt",
              successCount: null,
              failureCount: null,
              failures: [],
              inDoubtCustomerIds: updates.map(({ id }) => id),
            },
          ],
          items: 3,
          applied: 0,
          failed: 0,
          inDoubt: 3,
          unsent: 0,
          unchanged: 0,
        },
      });
    });
  });
});
