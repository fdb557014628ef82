// `npm start` as a newcomer uses it: start it, paste the README's curl command, follow the bulk id.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SANDBOX_API_KEY } from "../../local/kustomer-sandbox.ts";
import { freePort, isFree, startUntil } from "../support/processes.ts";

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

/** `npm start` that fails: its exit code and its stderr's lines. */
async function failedStart(environment: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  const failed = await run("npm", ["run", "-s", "start"], { env: { ...process.env, SANDBOX_PORT: "", ...environment } }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  if (!failed) throw new Error("npm start did not fail");
  return { code: failed.code, lines: failed.stderr.trim().split("\n") };
}

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

it("lets npm run invoke -- status read a bulk id this npm start returned, from its sandbox", async () => {
  const submitted = JSON.parse((await run("curl", readmeCurl("curl -s -X PUT"))).stdout);
  const { bulkId } = submitted.operations[0];
  const { stdout, stderr } = await run("npm", ["run", "-s", "invoke", "--", "status", bulkId], {
    env: { ...process.env, PORT: String(port), SANDBOX_PORT: String(sandboxPort) },
  });
  expect(stderr).toContain(`reading from the Kustomer sandbox of the running npm start (http://127.0.0.1:${sandboxPort})`);
  expect(JSON.parse(stdout).operations).toEqual([
    expect.objectContaining({ bulkId, status: expect.stringMatching(/^(queued|running|complete)$/) }),
  ]);
}, 60_000);

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

it("logs one compact line per request, with what it did; no JSON unless asked for", () => {
  const requests = server
    .output()
    .split("\n")
    .filter((line) => / (PUT|GET) \//.test(line));
  expect(requests.length).toBeGreaterThanOrEqual(3);
  expect(requests).toContainEqual(expect.stringMatching(/ PUT \/customers\/bulk -> 202 \(\d+ ms\): 1 items in 1 requests$/));
  expect(requests).toContainEqual(expect.stringMatching(/ GET \/bulk\/\w+ -> 200 \(\d+ ms\): complete \(all complete\)$/));
  // Warnings and errors still show, as JSON; the per-request summaries do not.
  expect(server.output()).not.toContain('"level":"INFO"');
});

it.each([
  ["the API", "PORT"],
  ["the Kustomer sandbox", "SANDBOX_PORT"],
])("refuses a port in use by %s with one line that names both ports and a free pair", async (_, variable) => {
  const environment =
    variable === "PORT"
      ? { PORT: String(port), SANDBOX_PORT: String(await freePort()) }
      : { PORT: String(await freePort()), SANDBOX_PORT: String(sandboxPort) };
  const failed = await failedStart(environment);
  expect(failed.code).toBe(1);
  expect(failed.lines).toHaveLength(1);
  expect(failed.lines[0]).toMatch(
    new RegExp(
      `^npm start: port \\d+ \\(.+\\) is in use; npm start needs ${environment.PORT} \\(PORT, the API\\) and ${environment.SANDBOX_PORT} \\(SANDBOX_PORT, the Kustomer sandbox\\): choose another pair, e\\.g\\. PORT=\\d+ SANDBOX_PORT=\\d+ npm start$`,
    ),
  );
});

it.each([
  ["PORT=abc", { PORT: "abc" }, /^npm start: PORT must be a port number from 1 to 65535, not "abc"$/],
  ["SANDBOX_PORT=70000", { SANDBOX_PORT: "70000" }, /^npm start: SANDBOX_PORT must be a port number from 1 to 65535, not "70000"$/],
  [
    "a Kustomer base URL that is not Kustomer's",
    { KUSTOMER_BASE_URL: "https://example.com" },
    /^npm start: invalid configuration: KUSTOMER_BASE_URL must be a Kustomer host \(\*\.kustomerapp\.com\) or loopback; list any other host in KUSTOMER_ALLOWED_HOSTS$/,
  ],
])("refuses %s at start, with one line and no stack trace", async (_, environment, message) => {
  const failed = await failedStart({ PORT: String(await freePort()), ...environment });
  expect(failed.code).toBe(1);
  expect(failed.lines).toEqual([expect.stringMatching(message)]);
});

it("stops when npm gets SIGTERM (an IDE's stop button, kill $!): both ports free within a second, exit code 143", async () => {
  const [apiPort, kustomerPort] = [await freePort(), await freePort()];
  const started = await startUntil("npm", ["start"], { PORT: String(apiPort), SANDBOX_PORT: String(kustomerPort) }, "ready");
  const stoppedAt = Date.now();
  // npm alone, as a stop button does, not its process group.
  started.signalLeader("SIGTERM");
  expect(await started.exited).toBe(143);
  for (const busy of [apiPort, kustomerPort]) {
    while (!(await isFree(busy))) {
      expect(Date.now() - stoppedAt).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}, 60_000);

it("runs with idempotency on (IDEMPOTENCY_TABLE_NAME starts an embedded DynamoDB): a repeated Idempotency-Key is answered, not sent again", async () => {
  const [idempotentPort, idempotentSandboxPort] = [await freePort(), await freePort()];
  const idempotent = await startUntil(
    "npm",
    ["start"],
    {
      PORT: String(idempotentPort),
      SANDBOX_PORT: String(idempotentSandboxPort),
      IDEMPOTENCY_TABLE_NAME: "kbu-local-idempotency",
      POWERTOOLS_LOG_LEVEL: "INFO",
    },
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
    // Asked for, the function's JSON summary lines, as on AWS: one per request, the first a cold start.
    const summaries = idempotent
      .output()
      .split("\n")
      .filter((line) => line.startsWith('{"level"'))
      .map((line) => JSON.parse(line));
    expect(summaries.length).toBeGreaterThanOrEqual(2);
    expect(summaries[0]).toMatchObject({ cold_start: true, function_name: "kustomer-bulk-update-local" });
    // Metrics are AWS's business: locally they would only bury the summaries.
    expect(idempotent.output()).not.toContain('"_aws"');
  } finally {
    idempotent.stop();
  }
}, 60_000);
