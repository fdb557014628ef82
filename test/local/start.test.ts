// `npm start` as a newcomer uses it: start it, paste the README's curl command, follow the bulk id.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SANDBOX_API_KEY } from "../../local/kustomer-sandbox.ts";
import { freePort, startUntil } from "../support/processes.ts";

const run = promisify(execFile);
let port: number;
let sandboxPort: number;
let server: Awaited<ReturnType<typeof startUntil>>;

beforeAll(async () => {
  [port, sandboxPort] = [await freePort(), await freePort()];
  server = await startUntil(
    "npm",
    ["start"],
    { PORT: String(port), SANDBOX_PORT: String(sandboxPort), SANDBOX_APPLY_AFTER_MS: "300" },
    "ready",
  );
}, 60_000);
afterAll(() => {
  server?.stop();
});

/** The README's commands, pointed at this test's ports. */
function readmeCurl(startsWith: string): string[] {
  const line = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    .split("\n")
    .find((candidate) => candidate.startsWith(startsWith));
  if (!line) throw new Error(`README has no line starting with ${startsWith}`);
  const shellWords = line.match(/'[^']*'|\S+/g) ?? [];
  return shellWords
    .slice(1)
    .map((word) =>
      word.replace(/^'|'$/g, "").replace("127.0.0.1:3000", `127.0.0.1:${port}`).replace("127.0.0.1:3001", `127.0.0.1:${sandboxPort}`),
    );
}

it("prints where it listens and the curl example", () => {
  expect(server.output()).toContain(`kustomer-bulk-update listening on http://127.0.0.1:${port}`);
  expect(server.output()).toContain(`Kustomer sandbox on http://127.0.0.1:${sandboxPort}`);
  expect(server.output()).toContain(`curl -s -X PUT 'http://127.0.0.1:${port}/customers/bulk'`);
});

it("runs the README's quick start: 202 with a bulk id, then complete, then the customer changed in the sandbox", async () => {
  const submitted = JSON.parse((await run("curl", readmeCurl("curl -s -X PUT"))).stdout);
  expect(submitted).toMatchObject({ status: "submitted", items: 1 });
  const { bulkId } = submitted.operations[0];

  let status: any;
  for (let poll = 0; poll < 50; poll += 1) {
    status = JSON.parse((await run("curl", ["-s", `http://127.0.0.1:${port}/bulk/${bulkId}`])).stdout);
    if (status.allComplete) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toEqual({
    allComplete: true,
    operations: [{ bulkId, status: "complete", successCount: 1, failureCount: 0, failures: [], inDoubtCustomerIds: [] }],
    items: 1,
    applied: 1,
    failed: 0,
    inDoubt: 0,
    unsent: 0,
    unchanged: 0,
  });

  const customer = JSON.parse((await run("curl", readmeCurl("curl -s -H 'authorization"))).stdout);
  expect(readmeCurl("curl -s -H 'authorization").join(" ")).toContain(SANDBOX_API_KEY);
  expect(customer.data).toMatchObject({ id: "5e4c41c8c9f1e7001a5a3b2c", attributes: { name: "Ada Lovelace", tags: ["vip"] } });
  expect(server.output()).toMatch(/PUT \/customers\/bulk -> 202 \(\d+ ms\)/);
});

it("answers bad requests with the same JSON errors as on AWS", async () => {
  const response = await fetch(`http://127.0.0.1:${port}/customers/bulk`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([{ id: "5e4c41c8c9f1e7001a5a3b2c", gender: "x" }]),
  });
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({
    error: {
      name: "ValidationError",
      message: expect.stringContaining("body[0].gender"),
      issues: [{ path: "body[0].gender", message: expect.any(String) }],
      issueCount: 1,
    },
  });
  // A route the deployed API does not define is refused by API Gateway itself, before the function.
  const nowhere = await fetch(`http://127.0.0.1:${port}/nowhere`);
  expect(nowhere.status).toBe(403);
  expect(await nowhere.json()).toEqual({ error: { name: "MISSING_AUTHENTICATION_TOKEN", message: "Missing Authentication Token" } });
});

it("logs one JSON summary line per request, the first one a cold start", () => {
  const summaries = server
    .output()
    .split("\n")
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line));
  expect(summaries.length).toBeGreaterThanOrEqual(3);
  expect(summaries[0]).toMatchObject({ cold_start: true, function_name: "kustomer-bulk-update-local" });
  expect(summaries.slice(1).every((line) => line.cold_start === false)).toBe(true);
  // Metrics are AWS's business: locally they would only bury the summaries.
  expect(server.output()).not.toContain('"_aws"');
});

it.each([
  ["the API", "PORT"],
  ["the Kustomer sandbox", "SANDBOX_PORT"],
])("refuses a port in use by %s with one line that names %s", async (_, variable) => {
  const environment =
    variable === "PORT"
      ? { PORT: String(port), SANDBOX_PORT: String(await freePort()) }
      : { PORT: String(await freePort()), SANDBOX_PORT: String(sandboxPort) };
  const failed = await run("npm", ["run", "-s", "start"], { env: { ...process.env, ...environment } }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failed?.code).toBe(1);
  const lines = failed!.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^npm start: port \\d+ \\(.+\\) is in use; choose another with ${variable}=<port>`));
});

it("runs with idempotency on (IDEMPOTENCY_TABLE_NAME starts an embedded DynamoDB): a repeated Idempotency-Key is answered, not sent again", async () => {
  const [idempotentPort, idempotentSandboxPort] = [await freePort(), await freePort()];
  const idempotent = await startUntil(
    "npm",
    ["start"],
    { PORT: String(idempotentPort), SANDBOX_PORT: String(idempotentSandboxPort), IDEMPOTENCY_TABLE_NAME: "kbu-local-idempotency" },
    "ready",
  );
  try {
    expect(idempotent.output()).toContain("Idempotency on: table kbu-local-idempotency");
    const curl = [
      "-s",
      "-X",
      "PUT",
      `http://127.0.0.1:${idempotentPort}/customers/bulk`,
      "-H",
      "content-type: application/json",
      "-H",
      "Idempotency-Key: try-1",
      "-d",
      '[{"id":"5e4c41c8c9f1e7001a5a3b2c","tags":["vip"]}]',
    ];
    const first = JSON.parse((await run("curl", curl)).stdout);
    const again = JSON.parse((await run("curl", curl)).stdout);
    expect(first).toMatchObject({ status: "submitted", items: 1 });
    expect(again).toEqual(first);
  } finally {
    idempotent.stop();
  }
}, 60_000);
