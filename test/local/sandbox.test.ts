import { afterEach, describe, expect, it } from "vitest";
import { KustomerSandbox, SANDBOX_API_KEY } from "../../local/kustomer-sandbox.ts";
import { SEED_CUSTOMERS } from "../../local/sandbox-records.ts";

let sandbox: KustomerSandbox;
let url: string;
let clock = 1_800_000_000_000;

async function start(options: ConstructorParameters<typeof KustomerSandbox>[0] = {}) {
  sandbox = new KustomerSandbox({ now: () => clock, ...options });
  url = await sandbox.start();
}
afterEach(() => sandbox.stop());

const auth = { authorization: `Bearer ${SANDBOX_API_KEY}`, "content-type": "application/json" };
const ada = SEED_CUSTOMERS[0]!.id;
const grace = SEED_CUSTOMERS[1]!.id;
const put = (body: unknown, query = "") =>
  fetch(`${url}/v1/customers/bulk${query}`, { method: "PUT", headers: auth, body: JSON.stringify(body) });
const get = async (path: string) => (await fetch(`${url}${path}`, { headers: auth })).json() as Promise<any>;

describe("the Kustomer sandbox", () => {
  it("accepts a bulk update with 201, and applies it only once the operation completes", async () => {
    await start({ applyAfterMs: 1_000 });
    const response = await put([
      { id: ada, tags: ["vip"], _clientRef: ada },
      { id: "5e4c41c8c9f1ffffffffffff", name: "Nobody", _clientRef: "x" },
    ]);
    expect(response.status).toBe(201);
    const { data } = (await response.json()) as any;
    expect(data).toMatchObject({ type: "bulk", attributes: { status: "queued" } });

    expect((await get(`/v1/customers/${ada}`)).data.attributes.tags).toEqual([]);
    clock += 500;
    expect((await get(`/v1/bulk/${data.id}`)).data.attributes.status).toBe("running");
    clock += 500;
    expect((await get(`/v1/bulk/${data.id}`)).data.attributes).toMatchObject({ status: "complete", batches: { complete: 1, total: 1 } });
    expect((await get(`/v1/customers/${ada}`)).data.attributes).toMatchObject({ name: "Ada Lovelace", tags: ["vip"] });

    const batches = await get(`/v1/bulk/${data.id}/batches`);
    expect(batches.data[0].attributes).toMatchObject({
      successCount: 1,
      failureCount: 1,
      results: [
        { _clientRef: ada, objectId: ada, status: "updated" },
        { _clientRef: "x", objectId: "5e4c41c8c9f1ffffffffffff", status: "error", error: "customer not found" },
      ],
    });
  });

  it("applies one update to every listed id in ids mode, reporting errors without results", async () => {
    await start({ applyAfterMs: 0 });
    const { data } = (await (
      await put([{ id: ada, company: "Analytical Engines" }], `?ids=${ada},${grace},5e4c41c8c9f1ffffffffffff`)
    ).json()) as any;
    expect((await get(`/v1/customers/${grace}`)).data.attributes.company).toBe("Analytical Engines");
    const batch = (await get(`/v1/bulk/${data.id}/batches`)).data[0].attributes;
    expect(batch).toMatchObject({
      successCount: 2,
      failureCount: 1,
      errors: [{ objectId: "5e4c41c8c9f1ffffffffffff", message: "customer not found" }],
    });
    expect(batch.results).toBeUndefined();
  });

  it("checks the bearer key and the request shape as Kustomer does", async () => {
    await start();
    expect((await fetch(`${url}/v1/customers/${ada}`)).status).toBe(401);
    expect((await fetch(`${url}/v1/customers/${ada}`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await put({ id: ada })).status).toBe(400);
    expect((await put(Array.from({ length: 101 }, () => ({ id: ada })))).status).toBe(400);
    expect((await put([{ id: ada, _clientRef: "a" }, { id: grace }])).status).toBe(400);
    expect((await fetch(`${url}/v1/bulk/nope`, { headers: auth })).status).toBe(404);
  });

  it("counts requests against a per-minute budget, with Kustomer's headers, and answers 429 past it", async () => {
    await start({ rateLimitPerMinute: 3 });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`${url}/v1/customers/${ada}`, { headers: auth });
      expect(response.status).toBe(200);
      remaining.push(response.headers.get("x-ratelimit-remaining") ?? "");
      expect(response.headers.get("x-ratelimit-limit")).toBe("3");
      expect(Number(response.headers.get("x-ratelimit-reset"))).toBe(Math.ceil((clock + 60_000) / 1000));
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const limited = await fetch(`${url}/v1/customers/${ada}`, { headers: auth });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(sandbox.rateLimited).toBe(1);
    clock += 60_000;
    expect((await fetch(`${url}/v1/customers/${ada}`, { headers: auth })).status).toBe(200);
  });

  it("keeps one budget for the whole org: every key draws from it, and every answer, 404 and 429 included, says what is left", async () => {
    await start({ rateLimitPerMinute: 4 });
    const otherKey = "kst_other_integration_of_the_same_org";
    sandbox.apiKeys.add(otherKey);
    const other = { authorization: `Bearer ${otherKey}` };
    const answers = [
      await fetch(`${url}/v1/customers/${ada}`, { headers: auth }),
      await fetch(`${url}/v1/customers/${ada}`, { headers: other }),
      await fetch(`${url}/v1/bulk/unknown`, { headers: other }),
      await put([{ id: ada, tags: [] }]),
      await fetch(`${url}/v1/customers/${ada}`, { headers: other }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 404, 201, 429]);
    expect(answers.map((answer) => answer.headers.get("x-ratelimit-remaining"))).toEqual(["3", "2", "1", "0", "0"]);
    for (const answer of answers) expect(answer.headers.get("x-ratelimit-limit")).toBe("4");
  });

  it("adds its configured latency to every answer", async () => {
    await start({ latencyMs: 100 });
    const started = Date.now();
    await fetch(`${url}/v1/customers/${ada}`, { headers: auth });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });
});
