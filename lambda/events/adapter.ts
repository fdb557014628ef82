// What every trigger adapter does: recognise its event, unwrap the request, and answer in its caller's shape.
import type { Context } from "aws-lambda";
import { contractErrorOf, validationErrorOf } from "../contract/errors.ts";
import { namedObject, OBJECTS, objectOfDetailType } from "../contract/objects/registry.ts";
import type { Settled } from "../contract/requests.ts";
import type { ListStore } from "../core/ports.ts";
import type { RequestKind, RequestResult } from "../core/process-request.ts";

/** The invocation an answer is for. */
export interface AdapterCall {
  event: unknown;
  /** Where a list too long for the answer is kept, when the stack provides one. */
  listStore?: ListStore;
}

export interface TriggerAdapter<Response = unknown> {
  readonly trigger: string;
  /** How long the caller waits for the answer, where that is less than the invocation's own time. */
  readonly callerWaitsMs?: number;
  matches(event: unknown, context?: Context): boolean;
  /** The requests this entry point takes (CONTRACT §0.1); anything else is a ValidationError. */
  readonly accepts: readonly RequestKind[];
  toRequest(event: unknown): unknown;
  /** What earlier attempts of the same command settled, where the trigger resubmits (the workflow). */
  settledOf?(event: unknown): Settled | undefined;
  /** With the changes table: which updates an earlier attempt sent (the workflow's resubmission). */
  sentOf?(event: unknown): string | undefined;
  /** Who sent it, where the trigger can tell (CONTRACT §2.4): the scope of its keys and its bulk ids. */
  callerOf?(event: unknown): string | undefined;
  /** The delivery's idempotency key, where the trigger has one (CONTRACT §2.4). */
  idempotencyKey?(event: unknown): string | undefined;
  toResponse(result: RequestResult, call: AdapterCall): Response | Promise<Response>;
  /** Either an answer (HTTP callers and the workflow get one) or a throw (the others match on the name). */
  onError(error: unknown, call: AdapterCall): Response | Promise<Response>;
}

/** For callers that take the result as it is and match thrown errors on their names. */
export const resultOrThrow: Pick<TriggerAdapter, "toResponse" | "onError"> = {
  toResponse: ({ result }) => result,
  onError(error) {
    throw contractErrorOf(error);
  },
};

/** A command's own correlationId: the key of a direct invoke or a workflow task. */
export function correlationKey(event: unknown): string | undefined {
  const correlationId = isObject(event) ? event.correlationId : undefined;
  return typeof correlationId === "string" ? `correlation:${correlationId}` : undefined;
}

/**
 * A request event's command (CONTRACT §3.1): its detail, naming the object its detail type is for. A
 * detail that names another object is refused rather than sent as either.
 */
export function commandOfEvent(detailType: unknown, detail: unknown): unknown {
  const object = objectOfDetailType(detailType);
  if (!object) {
    const types = OBJECTS.map((listed) => `"${listed.detailType}"`);
    throw validationErrorOf([{ path: "detail-type", message: `must be ${types.length > 1 ? `one of ${types.join(", ")}` : types[0]}` }]);
  }
  if (!isObject(detail) || detail.object === object.name) return detail;
  if (detail.object !== undefined) {
    throw validationErrorOf([{ path: "object", message: `must be "${object.name}", as the detail-type says, or absent` }]);
  }
  return { ...detail, ...namedObject(object) };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
