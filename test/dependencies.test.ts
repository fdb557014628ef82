// The layering check (tools/check-dependencies.ts), run as npm run lint runs it: it sees a seeded
// type-only circle, the stack importing past the contract, and the contract importing upward; and it
// finds none in this repository.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

const run = promisify(execFile);
const check = (folder?: string) =>
  run("npx", ["tsx", "tools/check-dependencies.ts", ...(folder ? [folder] : [])]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

const seeded = mkdtempSync(join(tmpdir(), "kbu-deps-"));
afterAll(() => rmSync(seeded, { recursive: true, force: true }));
const write = (file: string, text: string) => {
  mkdirSync(dirname(join(seeded, file)), { recursive: true });
  writeFileSync(join(seeded, file), text);
};

it("reports a circle made of a type-only import, the stack importing past the contract, the contract importing upward, and a use case importing an adapter or Kustomer's", async () => {
  write(
    "lambda/kustomer/plan.ts",
    'import type { Command } from "../contract/requests.ts";\nexport const plan = (command: Command) => command;\n',
  );
  write(
    "lambda/contract/requests.ts",
    'import { plan } from "../kustomer/plan.ts";\nexport type Command = { id: string };\nexport const planned = plan;\n',
  );
  write("lambda/contract/names.ts", 'export const SOURCE = "x";\n');
  write("lambda/adapters/aws/list-store.ts", "export const put = () => undefined;\n");
  write("lambda/core/read-outcome.ts", 'import { put } from "../adapters/aws/list-store.ts";\nexport const read = put;\n');
  write(
    "lambda/core/submit.ts",
    'import type { Command } from "../contract/requests.ts";\nimport type { Plan } from "../kustomer/plan.ts";\nexport type S = [Command, Plan];\n',
  );
  write(
    "infra/stack.ts",
    'import { SOURCE } from "../lambda/contract/names.ts";\nimport { plan } from "../lambda/kustomer/plan.ts";\nexport const stack = [SOURCE, plan];\n',
  );
  const { code, stderr } = await check(seeded);
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toEqual([
    "import circle: lambda/contract/requests.ts > lambda/kustomer/plan.ts > lambda/contract/requests.ts",
    "infra/stack.ts imports lambda/kustomer/plan.ts: the stack may import only lambda/contract/",
    "lambda/contract/requests.ts imports lambda/kustomer/plan.ts: the contract imports nothing above it",
    "lambda/core/read-outcome.ts imports lambda/adapters/aws/list-store.ts: the use cases reach adapters through their ports",
    "lambda/core/submit.ts imports lambda/kustomer/plan.ts: the use cases reach adapters through their ports",
  ]);
}, 60_000);

it("finds no breach in this repository", async () => {
  expect(await check()).toMatchObject({ code: 0, stdout: expect.stringContaining("no circles") });
}, 60_000);
