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
