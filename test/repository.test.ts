// The repository stands alone: a clone has no sibling folders, so no tracked file may point outside it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { retryTable } from "../lambda/contract/retry-policy.ts";

it("refers to nothing outside the repository", () => {
  const files = execFileSync("git", ["ls-files"], { encoding: "utf8" })
    .split("\n")
    .filter((file) => file && !file.endsWith("package-lock.json") && file !== "test/repository.test.ts");
  const outside = files.filter((file) => /\.\.\/shared\b/.test(readFileSync(file, "utf8")));
  expect(outside).toEqual([]);
});

it("shows in docs/configuration.md the retry table the code's own constants make", () => {
  expect(readFileSync("docs/configuration.md", "utf8")).toContain(retryTable());
});

it("names every source file of lambda/, infra/, local/ and tools/ in docs/architecture.md's code map, and none that is gone", () => {
  const map = /```\nlambda\/\n([\s\S]*?)```/.exec(readFileSync("docs/architecture.md", "utf8"))?.[1] ?? "";
  const named = new Set([...map.matchAll(/[\w-]+\.(?:ts|mjs)\b/g)].map(([name]) => name));
  const files = execFileSync("git", ["ls-files", "lambda", "infra", "local", "tools"], { encoding: "utf8" })
    .split("\n")
    .filter((file) => /\.(ts|mjs)$/.test(file) && !file.endsWith(".d.ts"));
  const names = new Set(files.map((file) => file.split("/").at(-1) as string));
  expect(files.filter((file) => !named.has(file.split("/").at(-1) as string))).toEqual([]);
  expect([...named].filter((name) => !names.has(name) && !/^(run|child|job-machine|resync)\.(ts|mjs)$/.test(name))).toEqual([]);
});

it("keeps every source file of lambda/, infra/ and local/ within 250 lines", () => {
  const files = execFileSync("git", ["ls-files", "lambda", "infra", "local"], { encoding: "utf8" })
    .split("\n")
    .filter((file) => /\.(ts|mjs)$/.test(file));
  const long = files.flatMap((file) => {
    const lines = readFileSync(file, "utf8").split("\n").length - 1;
    return lines > 250 ? [`${file}: ${lines} lines`] : [];
  });
  expect(long).toEqual([]);
});
