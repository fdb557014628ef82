// The synthesized state machines, run by an ASL interpreter (aws-local-stepfunctions) with the real
// handler bound to their Lambda tasks: what runs is the template's definition, not a copy of it. The
// tests run them, and so do the local tools (local/workflow.ts).
import type { Context } from "aws-lambda";
import { Template } from "aws-cdk-lib/assertions";
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

const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:kustomer-bulk-update";
const PSEUDO_PARAMETERS: Record<string, string> = { "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012" };

/** A state machine's definition from the synthesized template, with its references made concrete ARNs. */
export function definitionFromTemplate(context: Record<string, unknown>, logicalIdPrefix: string): Record<string, any> {
  const template = Template.fromStack(synthApp(context).stack).toJSON();
  const entry = Object.entries(template.Resources as Record<string, any>).find(
    ([id, resource]) => id.startsWith(logicalIdPrefix) && resource.Type === "AWS::StepFunctions::StateMachine",
  );
  if (!entry) throw new Error(`no state machine ${logicalIdPrefix}`);
  const parts = entry[1].Properties.DefinitionString["Fn::Join"][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === "string" ? part : (PSEUDO_PARAMETERS[(part as { Ref?: string }).Ref ?? ""] ?? FUNCTION_ARN))).join(""));
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
  visited: string[];
  /** The entries the run put on EventBridge. */
  events: Array<{ source: string; detailType: string; detail: Record<string, any>; bytes: number }>;
}

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
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
  options: { executionName: string; beforeTask?: (state: string) => void; waitMs?: number; onEvent?: (event: Run["events"][number]) => void },
): Promise<Run> {
  const { StateMachine } = await import("aws-local-stepfunctions");
  const taskStates = Object.entries(definition.States as Record<string, any>).filter(([, state]) => state.Type === "Task");
  const waitStates = Object.entries(definition.States as Record<string, any>)
    .filter(([, state]) => state.Type === "Wait")
    .map(([name]) => name);
  const run: Run = { sizes: [], taskResults: [], visited: [], events: [] };
  const invoke = async (state: string, payload: unknown, context: Context) => {
    options.beforeTask?.(state);
    const result = await handler(payload, context);
    run.taskResults.push({ state, bytes: bytes(result) });
    return result;
  };
  // As the service does: the integration's parameters are its API call, and its result is the call's answer.
  const bind = (state: string, resource: string) => {
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
        return { StatusCode: 200, ExecutedVersion: "$LATEST", Payload: await invoke(state, Payload, { ...lambdaContext(), clientContext }) };
      };
    }
    // A function's ARN as the resource: the payload is the parameters, and the answer the result.
    return (payload: unknown) => invoke(state, payload, lambdaContext());
  };
  const machine = new StateMachine(definition as never);
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
      if (entry.type === "StateEntered" && entry.state) run.visited.push(entry.state.name);
      if (entry.type === "StateExited" && entry.state) {
        run.sizes.push({ state: entry.state.name, inputBytes: bytes(entry.state.input), outputBytes: bytes(entry.state.output) });
      }
    }
  })();
  try {
    run.output = await execution.result;
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause;
    run.error = { name: cause?.name ?? (error as Error).name, message: (error as Error).message };
  }
  await logs.catch(() => undefined);
  return run;
}
