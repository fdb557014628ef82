// What every trigger adapter does: recognise its event, unwrap the request, and answer in its caller's shape.
import type { RequestResult } from "../process-request.ts";

export interface TriggerAdapter<Response = unknown> {
  readonly trigger: string;
  /** How long the caller waits for the answer, where that is less than the invocation's own time. */
  readonly callerWaitsMs?: number;
  matches(event: unknown): boolean;
  toRequest(event: unknown): unknown;
  toResponse(result: RequestResult): Response;
  /** Either an answer (HTTP callers get an error response) or a throw (the others match on the name). */
  onError(error: unknown): Response;
}

/** For callers that take the result as it is and match thrown errors on their names. */
export const resultOrThrow: Pick<TriggerAdapter, "toResponse" | "onError"> = {
  toResponse: (result) => result,
  onError(error) {
    throw error;
  },
};

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
