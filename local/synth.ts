// Builds the stack as `cdk synth` does (cdk.json's feature flags included): for template assertions,
// and for running its state machines locally.
import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { createApp } from "../infra/app.ts";

const cdkJson = JSON.parse(readFileSync(new URL("../cdk.json", import.meta.url), "utf8")) as { context: Record<string, unknown> };

export function synthApp(context: Record<string, unknown> = {}, { bundle = false } = {}) {
  // Bundling is proven once (test/infra/nag.test.ts); elsewhere it would only slow the suite down.
  const skipBundling = bundle ? {} : { "aws:cdk:bundling-stacks": [] };
  return createApp(new App({ context: { ...cdkJson.context, ...skipBundling, ...context } }));
}
