// The CDK app: one stack, settings from context, and cdk-nag's AWS Solutions and Serverless checks on
// every synth.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { readSettings } from "./settings.ts";
import { BulkUpdateStack } from "./stack.ts";

export function createApp(app = new App()): { app: App; stack: BulkUpdateStack } {
  const settings = readSettings((name) => app.node.tryGetContext(name), Object.keys(app.node.getAllContext()));
  // Environment-agnostic: synth needs no AWS credentials and makes no lookups.
  const stack = new BulkUpdateStack(app, "KustomerBulkUpdate", {
    settings,
    description: "kustomer-bulk-update: validated bulk customer updates to Kustomer",
  });
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { app } = createApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  app.synth();
}
