// The deployable code itself (built as the stack builds it: ESM chunks) runs in a fresh Node.js process
// against the fake Kustomer and Secrets Manager.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildFunctions, loadedAtStart } from "../infra/bundling.ts";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { FakeSecretsManager } from "./support/fake-secrets-manager.ts";
import { API_KEY, customerUpdates, SECRET_ID } from "./support/fixtures.ts";

const run = promisify(execFile);
const kustomer = new KustomerSandbox({ apiKey: API_KEY });
const secrets = new FakeSecretsManager();
/** The budget for the code a cold start loads (bench/README.md says what is in it and why). A size is deterministic; a time is not. */
const BUNDLE_BUDGET_KB = 500;

let directory: string;
let bundle: string;
let metafile: Metafile;
let loaded: string[];
let environment: Record<string, string>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "kbu-bundle-"));
  bundle = join(directory, "handler.mjs");
  metafile = buildFunctions(directory);
  loaded = loadedAtStart(metafile, "handler");
  secrets.secrets.set(SECRET_ID, API_KEY);
  const [kustomerUrl, secretsUrl] = await Promise.all([kustomer.start(), secrets.start()]);
  environment = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
    KUSTOMER_SECRET_ID: SECRET_ID,
    KUSTOMER_BASE_URL: kustomerUrl,
  };
});
afterAll(async () => {
  await Promise.all([kustomer.stop(), secrets.stop()]);
  await rm(directory, { recursive: true, force: true });
});

async function invokeBundle(event: unknown): Promise<unknown> {
  const script = `const { handler } = await import(${JSON.stringify(bundle)});
const result = await handler(JSON.parse(process.env.EVENT)).catch((error) => ({ thrown: error.name }));
process.stdout.write("RESULT " + JSON.stringify(result) + "\\n");`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...environment, EVENT: JSON.stringify(event) },
  });
  const line = stdout.split("\n").find((candidate) => candidate.startsWith("RESULT "));
  return JSON.parse((line ?? "RESULT null").slice("RESULT ".length));
}

it(`loads at most ${BUNDLE_BUDGET_KB} KB at start, with no dead weight from zod's locales or the response schemas`, () => {
  const outputs = loaded.map((file) => metafile.outputs[file]!);
  expect(outputs.reduce((sum, output) => sum + output.bytes, 0) / 1024).toBeLessThanOrEqual(BUNDLE_BUDGET_KB);
  const inputs = outputs.flatMap((output) => Object.keys(output.inputs));
  expect(inputs.filter((input) => input.includes("zod/v4/locales/"))).toEqual(["node_modules/zod/v4/locales/en.js"]);
  expect(inputs).not.toContain("lambda/contract/results.ts");
  // The SDK clients and Powertools Idempotency load on first use: a submit without a key needs none of them.
  expect(inputs.filter((input) => /@aws-sdk\/client-|@aws-lambda-powertools\/idempotency\//.test(input))).toEqual([]);
  const all = Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
  expect(all.some((input) => input.includes("@aws-sdk/client-sfn/"))).toBe(true);
});

it("submits through the bundled SDK and fetch", async () => {
  const result = await invokeBundle({ body: customerUpdates(120) });
  expect(result).toMatchObject({ status: "submitted", items: 120 });
  expect(kustomer.bulkPuts).toHaveLength(2);
  expect(secrets.calls).toBe(1);
});

it("keeps the error names that Step Functions matches on, minified or not", async () => {
  expect(await invokeBundle({ body: [{ id: "nope" }] })).toEqual({ thrown: "ValidationError" });
  kustomer.inject({ fault: { status: 403 } });
  expect(await invokeBundle({ body: customerUpdates(1) })).toEqual({ thrown: "KustomerAuthError" });
});
