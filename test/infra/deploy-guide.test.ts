// The deploy guide (docs/deploy.md), read against the synthesized template: every setting it passes
// with -c is one of the stack's, its deploy command synthesizes, and every output it reads exists.
import { readFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { expect, it } from "vitest";
import { SETTING_NAMES } from "../../infra/settings.ts";
import { synthApp } from "../../local/synth.ts";

const guide = readFileSync("docs/deploy.md", "utf8");
const ACCOUNT = "123456789012";

it("passes only the stack's own settings, and its deploy command synthesizes", () => {
  const settings = [...guide.matchAll(/-c (\w+)=/g)].map(([, name]) => name as string);
  expect(settings.length).toBeGreaterThan(0);
  expect(settings.filter((name) => !(SETTING_NAMES as string[]).includes(name))).toEqual([]);
  const roles = Object.fromEntries(
    [...guide.matchAll(/-c (\w+)=arn:aws:iam::\$ACCOUNT:role\/([\w-]+)/g)].map(([, name, role]) => [
      name,
      `arn:aws:iam::${ACCOUNT}:role/${role}`,
    ]),
  );
  expect(Object.keys(roles).sort()).toEqual(["kustomerKeyAdminRoleArn", "operatorRoleArn", "producerRoleArns"]);
  expect(() => synthApp(roles)).not.toThrow();
});

it("reads only outputs the stack has (ApiKeyId with apiKeyAuth)", () => {
  const read = [...new Set([...guide.matchAll(/\$\(out (\w+)\)/g)].map(([, name]) => name as string))];
  const outputs = new Set([
    ...Object.keys(Template.fromStack(synthApp({}).stack).findOutputs("*")),
    ...Object.keys(Template.fromStack(synthApp({ apiKeyAuth: "true" }).stack).findOutputs("*")),
  ]);
  expect(read.length).toBeGreaterThan(10);
  expect(read.filter((name) => !outputs.has(name))).toEqual([]);
});
