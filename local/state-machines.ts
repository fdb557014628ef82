// The synthesized state machines, run by an ASL interpreter (aws-local-stepfunctions) with the real
// handler bound to their Lambda tasks: what runs is the template's definition, not a copy of it. The
// tests run them, and so do the local tools (local/workflow.ts).

import { Template } from "aws-cdk-lib/assertions";
import type { Context } from "aws-lambda";
import { synthApp } from "./synth.ts";

// The interpreter is written for Node.js 22, which has Promise.withResolvers; Node.js 20 does not.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
};

const ACCOUNT = "123456789012";
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:kustomer-bulk-update`;
/** The names the synthesized references stand for here: the job bucket's is the S3 stand-in's. */
export const LOCAL_NAMES = {
  bucket: "kbu-job-bucket",
  busArn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/kustomer-bulk-update`,
  stateMachineArn: (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`,
};
const PSEUDO_PARAMETERS: Record<string, string> = { "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT };
/** What a Ref or Fn::GetAtt of each resource type stands for. */
const BY_TYPE: Record<string, string> = {
  "AWS::S3::Bucket": LOCAL_NAMES.bucket,
  "AWS::Lambda::Function": FUNCTION_ARN,
  "AWS::Events::EventBus": LOCAL_NAMES.busArn,
};

/** A reference made concrete: a pseudo parameter, or the local stand-in of the resource it names. */
export function resolveReference(template: Record<string, any>, part: { Ref?: string; "Fn::GetAtt"?: [string, string] }): string {
  const id = part.Ref ?? part["Fn::GetAtt"]?.[0] ?? "";
  const resolved = PSEUDO_PARAMETERS[id] ?? BY_TYPE[template.Resources[id]?.Type];
  if (resolved === undefined) throw new Error(`no local stand-in for ${JSON.stringify(part)}`);
  return resolved;
}

/** A state machine's definition from the synthesized template, with its references made concrete. */
export function definitionFromTemplate(
  context: Record<string, unknown> | { template: Record<string, any> },
  logicalIdPrefix: string,
): Record<string, any> {
  const template: Record<string, any> =
    "template" in context ? (context.template as Record<string, any>) : Template.fromStack(synthApp(context).stack).toJSON();
  const entry = Object.entries(template.Resources as Record<string, any>).find(
    ([id, resource]) => id.startsWith(logicalIdPrefix) && resource.Type === "AWS::StepFunctions::StateMachine",
  );
  if (!entry) throw new Error(`no state machine ${logicalIdPrefix}`);
  const parts = entry[1].Properties.DefinitionString["Fn::Join"][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === "string" ? part : resolveReference(template, part as never))).join(""));
}

export interface StateSizes {
  state: string;
  inputBytes: number;
  outputBytes: number;
}

export interface Run {
  output?: unknown;
  error?: { name: string; message: string };
  /** Each state's input and output, as Step Functions would measure them against 256 KiB. */
  sizes: StateSizes[];
  /** What each task's function answered, in bytes, before the state's ResultSelector. */
  taskResults: Array<{ state: string; bytes: number }>;
  /** Each task's input (a Lambda task's payload), which Step Functions also limits to 256 KiB. */
  taskInputs: Array<{ state: string; bytes: number }>;
  visited: string[];
  /** The execution's history events, counted as Step Functions records them for each state's type. */
  history: number;
  /** The entries the run put on EventBridge. */
  events: Array<{ source: string; detailType: string; detail: Record<string, any>; bytes: number }>;
}

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
const NO_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
const PUT_EVENTS = "arn:aws:states:::events:putEvents";

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

/**
 * Runs a definition with its Lambda tasks bound to `handler` and its EventBridge tasks recorded;
 * waits take `waitMs` (none by default) and retries do not pause.
 */
export async function runStateMachine(
  definition: Record<string, any>,
  input: Record<string, unknown>,
  handler: (event: unknown, context: Context) => Promise<unknown>,
  lambdaContext: () => Context,
  options: {
    executionName: string;
    beforeTask?: (state: string) => void | Promise<void>;
    waitMs?: number;
    onEvent?: (event: Run["events"][number]) => void;
    /** States bound to handlers of the caller's own (an emulated Distributed Map). */
    handlers?: Record<string, (input: unknown) => Promise<unknown>>;
    /** States that are Distributed Maps on AWS, for the history count. */
    distributedMaps?: string[];
  },
): Promise<Run> {
  const { StateMachine } = await import("aws-local-stepfunctions");
  const taskStates = Object.entries(definition.States as Record<string, any>).filter(([, state]) => state.Type === "Task");
  const waitStates = Object.entries(definition.States as Record<string, any>)
    .filter(([, state]) => state.Type === "Wait")
    .map(([name]) => name);
  const run: Run = { sizes: [], taskResults: [], taskInputs: [], visited: [], events: [], history: 2 };
  // Per the developer guide's history events: a Lambda task enters, is scheduled, starts, ends and
  // exits; each retry fails, is scheduled and starts again; a Distributed Map records six.
  const eventsOf = (state: string) =>
    options.distributedMaps?.includes(state) ? 6 : (({ Task: 5, Fail: 1 } as Record<string, number>)[definition.States[state]?.Type] ?? 2);
  const invoke = async (state: string, payload: unknown, context: Context) => {
    await options.beforeTask?.(state);
    run.taskInputs.push({ state, bytes: bytes(payload) });
    const result = await handler(payload, context);
    run.taskResults.push({ state, bytes: bytes(result) });
    return result;
  };
  // As the service does: the integration's parameters are its API call, and its result is the call's answer.
  const bind = (state: string, resource: string) => {
    const own = options.handlers?.[state];
    if (own) return own;
    if (resource === PUT_EVENTS) {
      return async ({ Entries }: { Entries: Array<{ Source: string; DetailType: string; Detail: Record<string, any> }> }) => {
        for (const entry of Entries) {
          const event = { source: entry.Source, detailType: entry.DetailType, detail: entry.Detail, bytes: bytes(entry) };
          run.events.push(event);
          options.onEvent?.(event);
        }
        return { Entries: Entries.map((_, index) => ({ EventId: `event-${run.events.length + index}` })), FailedEntryCount: 0 };
      };
    }
    if (resource === LAMBDA_INVOKE) {
      return async ({ Payload, ClientContext }: { Payload: unknown; ClientContext?: string }) => {
        const clientContext = ClientContext ? JSON.parse(Buffer.from(ClientContext, "base64").toString("utf8")) : undefined;
        return {
          StatusCode: 200,
          ExecutedVersion: "$LATEST",
          Payload: await invoke(state, Payload, { ...lambdaContext(), clientContext }),
        };
      };
    }
    // A function's ARN as the resource: the payload is the parameters, and the answer the result.
    return (payload: unknown) => invoke(state, payload, lambdaContext());
  };
  // The interpreter gives a Task 60 s by default, as the ASL spec does; AWS sets no timeout by default
  // (its developer guide: "By default, the Amazon States Language doesn't specify timeouts"). The
  // longest a Node.js timer holds stands in for none: 2^31 - 1 ms, some 24 days.
  const states = Object.fromEntries(
    Object.entries(definition.States as Record<string, any>).map(([name, state]) => [
      name,
      state.Type === "Task" && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined
        ? { ...state, TimeoutSeconds: NO_TIMEOUT_SECONDS }
        : state,
    ]),
  );
  const machine = new StateMachine({ ...definition, States: states } as never);
  const execution = machine.run(input as never, {
    context: { Execution: { Name: options.executionName, Input: input } } as never,
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(taskStates.map(([name, state]) => [name, bind(name, state.Resource) as never])),
      waitTimeOverrides: Object.fromEntries(waitStates.map((state) => [state, options.waitMs ?? 0])),
      retryIntervalOverrides: Object.fromEntries(taskStates.map(([name]) => [name, 0])),
    },
  });
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      const entry = event as { type: string; state?: { name: string; input?: unknown; output?: unknown } };
      if (entry.type === "StateEntered" && entry.state) {
        run.visited.push(entry.state.name);
        run.history += eventsOf(entry.state.name);
      }
      if (entry.type === "StateRetried") run.history += 3;
      if (entry.type === "StateExited" && entry.state) {
        run.sizes.push({ state: entry.state.name, inputBytes: bytes(entry.state.input), outputBytes: bytes(entry.state.output) });
      }
    }
  })();
  try {
    run.output = await execution.result;
  } catch (error) {
    // The interpreter wraps the error that ended the run; the run's error and cause are the wrapped one's.
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    run.error = { name: cause?.name ?? (error as Error).name, message: cause?.message ?? (error as Error).message };
  }
  await logs.catch(() => undefined);
  return run;
}
