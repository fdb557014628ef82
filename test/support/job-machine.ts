// The job as AWS runs it: an S3 "Object Created" event matched by the synthesized rule and shaped by its
// input transformer, then the synthesized job state machine run whole by the ASL interpreter, its
// Lambda tasks bound to the real job handler and its Distributed Map emulated (distributed-map.ts).
import { randomUUID } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { Template } from "aws-cdk-lib/assertions";
import type { Context } from "aws-lambda";
import { definitionFromTemplate, LOCAL_NAMES, type Run, resolveReference, runStateMachine } from "../../local/state-machines.ts";
import { synthApp } from "../../local/synth.ts";
import { emulateDistributedMaps, type MapRunRecord } from "./distributed-map.ts";

export interface JobStack {
  template: Record<string, any>;
  definition: Record<string, any>;
  rule: {
    EventPattern: Record<string, unknown>;
    Targets: Array<{ InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }>;
  };
}

export function jobStack(context: Record<string, unknown> = {}): JobStack {
  const template = Template.fromStack(synthApp(context).stack).toJSON() as Record<string, any>;
  const definition = definitionFromTemplate({ template }, "JobStateMachine");
  const [, rule] = Object.entries(template.Resources as Record<string, any>).find(
    ([, resource]) => resource.Type === "AWS::Events::Rule" && resource.Properties.Targets?.[0]?.Arn?.Ref?.startsWith("JobStateMachine"),
  ) ?? [undefined, undefined];
  if (!rule) throw new Error("no rule starts the job state machine");
  // The pattern names the bucket by reference: the local stand-in's name.
  const pattern = JSON.parse(JSON.stringify(rule.Properties.EventPattern), (_, value) =>
    value && typeof value === "object" && "Ref" in value ? resolveReference(template, value) : value,
  );
  return { template, definition, rule: { ...rule.Properties, EventPattern: pattern } };
}

/** S3's event on EventBridge for a new object, as the S3 user guide shows it. */
export function objectCreated(key: string, size: number, bucket = LOCAL_NAMES.bucket): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Object Created",
    source: "aws.s3",
    account: "123456789012",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: "0",
      bucket: { name: bucket },
      object: { key, size, etag: "0", sequencer: "0" },
      "request-id": "0",
      requester: "123456789012",
      "source-ip-address": "192.0.2.1",
      reason: "PutObject",
    },
  };
}

/** EventBridge's matching, for the pattern forms the stack uses: lists of values and `{ prefix }`. */
export function matches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((candidate) =>
      typeof candidate === "object" && candidate && "prefix" in candidate
        ? typeof event === "string" && event.startsWith(candidate.prefix)
        : candidate === event,
    );
  }
  return Object.entries(pattern as Record<string, unknown>).every(([field, inner]) =>
    matches(inner, (event as Record<string, unknown> | undefined)?.[field]),
  );
}

/** EventBridge's input transformer: each <name> in the template replaced by the JSON of its path's value. */
export function transformInput(transformer: JobStack["rule"]["Targets"][number]["InputTransformer"], event: unknown): unknown {
  const read = (path: string) =>
    path
      .replace(/^\$\.?/, "")
      .split(".")
      .filter(Boolean)
      .reduce<unknown>((value, part) => (value as Record<string, unknown>)?.[part], event);
  const text = transformer.InputTemplate.replace(/<([\w-]+)>/g, (_, name: string) =>
    JSON.stringify(read(transformer.InputPathsMap[name] as string)),
  );
  return JSON.parse(text);
}

/** The access key the emulated map's S3 calls are signed with: the job state machine's role makes them. */
export const STATE_MACHINE_ACCESS_KEY = "ASIAJOBSTATEMACHINE";

export interface JobRun extends Run {
  /** False when the rule did not match the event: nothing ran. */
  started: boolean;
  mapRuns: MapRunRecord[];
}

export interface JobRunOptions {
  stack: JobStack;
  event: Record<string, unknown>;
  handler: (event: unknown, context: Context) => Promise<unknown>;
  lambdaContext: () => Context;
  /** Called before each task, the map's children's included: tests move the sandbox's clock here. */
  beforeTask?: (state: string) => void;
}

export async function runJobMachine({ stack, event, handler, lambdaContext, beforeTask }: JobRunOptions): Promise<JobRun> {
  if (!matches(stack.rule.EventPattern, event))
    return { started: false, mapRuns: [], sizes: [], taskResults: [], taskInputs: [], visited: [], history: 0, events: [] };
  const input = transformInput((stack.rule.Targets[0] as JobStack["rule"]["Targets"][number]).InputTransformer, event) as Record<
    string,
    unknown
  >;
  const executionName = randomUUID();
  const mapRuns: MapRunRecord[] = [];
  const { definition, handlers } = emulateDistributedMaps(stack.definition, {
    stateMachineName: "JobStateMachine",
    executionName,
    s3: new S3Client({ credentials: { accessKeyId: STATE_MACHINE_ACCESS_KEY, secretAccessKey: "state-machine" } }),
    onMapRun: (record) => mapRuns.push(record),
    runChild: async (processor, childInput, name) => {
      const child = await runStateMachine(
        { StartAt: processor.StartAt, States: processor.States },
        childInput as Record<string, unknown>,
        handler,
        lambdaContext,
        {
          executionName: name,
          beforeTask,
        },
      );
      const largestState = Math.max(0, ...child.sizes.flatMap(({ inputBytes, outputBytes }) => [inputBytes, outputBytes]));
      if (!child.error) return { Status: "SUCCEEDED", Output: child.output, history: child.history, largestState };
      // Lambda hands Step Functions the error's type and message as the cause.
      const Cause = JSON.stringify({ errorType: child.error.name, errorMessage: child.error.message, trace: [] });
      return { Status: "FAILED", Error: child.error.name, Cause, history: child.history, largestState };
    },
  });
  const distributedMaps = Object.keys(handlers);
  const run = await runStateMachine(definition, input, handler, lambdaContext, { executionName, beforeTask, handlers, distributedMaps });
  return { ...run, started: true, mapRuns };
}
