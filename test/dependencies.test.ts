// The layering check (tools/check-dependencies.ts) sees what it must: a seeded type-only circle, the
// stack importing past the contract, the contract importing upward; and finds none in this repository.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { dependencyProblems } from "../tools/check-dependencies.ts";

const seeded = mkdtempSync(join(tmpdir(), "kbu-deps-"));
afterAll(() => rmSync(seeded, { recursive: true, force: true }));
const write = (file: string, text: string) => {
  mkdirSync(dirname(join(seeded, file)), { recursive: true });
  writeFileSync(join(seeded, file), text);
};

it("reports a circle made of a type-only import, the stack importing past the contract, and the contract importing upward", async () => {
  write(
    "lambda/kustomer/plan.ts",
    'import type { Command } from "../contract/requests.ts";\nexport const plan = (command: Command) => command;\n',
  );
  write(
    "lambda/contract/requests.ts",
    'import { plan } from "../kustomer/plan.ts";\nexport type Command = { id: string };\nexport const planned = plan;\n',
  );
  write("lambda/contract/names.ts", 'export const SOURCE = "x";\n');
  write(
    "infra/stack.ts",
    'import { SOURCE } from "../lambda/contract/names.ts";\nimport { plan } from "../lambda/core/plan.ts";\nexport const stack = [SOURCE, plan];\n',
  );
  const problems = await dependencyProblems(seeded, ["lambda", "infra"]);
  expect(problems.sort()).toEqual([
    "import circle: lambda/kustomer/plan.ts > lambda/contract/requests.ts > lambda/kustomer/plan.ts",
    "infra/stack.ts imports lambda/kustomer/plan.ts: the stack may import only lambda/contract/",
    "lambda/contract/requests.ts imports lambda/kustomer/plan.ts: the contract imports nothing above it",
  ]);
});

it("finds no breach in this repository", async () => {
  expect(await dependencyProblems(process.cwd(), ["lambda", "infra", "local", "bench", "test", "tools"])).toEqual([]);
}, 30_000);
