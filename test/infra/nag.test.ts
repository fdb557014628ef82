// cdk-nag's AWS Solutions and Serverless checks over the synthesized app. Kept apart from the template tests: with
// the plugin registered, Template.fromStack throws.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Validations } from "aws-cdk-lib";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { ESM_REQUIRE_BANNER } from "../../infra/bundling.ts";
import { synthApp } from "../../local/synth.ts";

function synthWithNag(context: Record<string, unknown>, options?: { bundle: boolean }) {
  const { app } = synthApp(context, options);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app.synth();
}

describe("cdk-nag AwsSolutionsChecks and ServerlessChecks", () => {
  it("pass on the default stack, whose functions share one locally built asset of ESM entries with the require banner", () => {
    const assembly = synthWithNag({}, { bundle: true });
    // The bulk-update, workflow and report functions all deploy the one build.
    const assets = readdirSync(assembly.directory).filter(
      (name) => name.startsWith("asset.") && existsSync(join(assembly.directory, name, "handler.mjs")),
    );
    expect(assets).toHaveLength(1);
    for (const entry of ["handler.mjs", "job-handler.mjs"]) {
      const file = join(assembly.directory, assets[0]!, entry);
      expect(readFileSync(file, "utf8").startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
    }
  });

  it("pass with every option turned on", () => {
    expect(() =>
      synthWithNag({
        kustomerSecretName: "prod/kustomer",
        kustomerKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        apiKeyAuth: true,
        apiKeyCallers: "partner-a,partner-b",
        corsAllowOrigins: "https://ops.example.com",
        alarmEmail: "ops@example.com",
        eventBusName: "default",
        eventSources: "crm.sync,billing.sync",
        producerRoleArns: "arn:aws:iam::123456789012:role/crm-sync,arn:aws:iam::123456789012:role/billing-sync",
        operatorRoleArn: "arn:aws:iam::123456789012:role/kustomer-bulk-update-operator",
        sendOnlyChanges: true,
      }),
    ).not.toThrow();
  });

  it.each([
    ["AwsSolutions", () => new AwsSolutionsChecks()],
    ["Serverless", () => new ServerlessChecks()],
  ])("would fail a stack that breaks a rule (the %s checks are live)", (pack, plugin) => {
    const { app, stack } = synthApp({});
    new Queue(stack, "UnencryptedQueue", { enforceSSL: false });
    Validations.of(app).addPlugins(plugin());
    expect(() => app.synth()).toThrow(new RegExp(`${pack}.*SQS`, "s"));
  });
});
