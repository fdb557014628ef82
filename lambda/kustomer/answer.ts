// What one attempt's result means (CONTRACT §2.6, §4): Kustomer's answer, or the network's failure,
// as an outcome the client acts on: the data, a 401 to fetch the key again for, a retry (with its wait
// and whether the request may have reached Kustomer), or a named error thrown at once.
import type * as z from "zod/mini";
import type { BulkUpdateError } from "../contract/errors.ts";
import { KustomerAuthError, KustomerRateLimitError, KustomerRequestError, KustomerUnavailableError } from "../contract/kustomer-errors.ts";
import type { Counters } from "../core/ports.ts";
import type { HttpAnswer, HttpHeaders } from "../platform/http-client.ts";
import { type RateBudget, resetAtOf, trusted } from "./rate-budget.ts";
import { parseKustomerErrors } from "./wire.ts";

export interface KustomerRequest {
  method: "GET" | "PUT";
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** The role an API key needs for it (Kustomer's name), said when Kustomer answers 403. */
  role?: string;
}

export type Outcome<T> = { kind: "ok"; data: T } | { kind: "unauthorized" } | { kind: "retry"; error: BulkUpdateError; waitMs?: number };

/** Kustomer's answers are read up to this (CONTRACT §4.1): a larger one is not buffered. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** Network failures that happen before a request's first byte is written: nothing reached Kustomer. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

export interface AnswerContext {
  /** Masked out of Kustomer's error bodies. */
  apiKey: string;
  budget: RateBudget;
  counters: Counters;
  now: () => number;
  /** The backoff of this attempt, for a 429 that names no wait of its own. */
  backoffMs: () => number;
}

/** No answer: a timeout or a broken connection. A write may have reached Kustomer unless nothing was sent. */
export function outcomeOfFailure(request: KustomerRequest, error: unknown, timeoutMs: number): Outcome<never> {
  const name = error instanceof Error ? error.name : "";
  // Only a write can leave customers in doubt; a read is simply read again.
  const write = request.method === "PUT";
  if (name === "TimeoutError") {
    return {
      kind: "retry",
      error: new KustomerUnavailableError(`Kustomer did not answer ${describe(request)} within ${timeoutMs} ms`, {
        timedOut: true,
        inDoubt: write,
        cause: error,
      }),
    };
  }
  // Only the error code: Node's messages name hosts and ports.
  const code = (error as { code?: string }).code ?? (name || "network error");
  return {
    kind: "retry",
    error: new KustomerUnavailableError(`could not reach Kustomer for ${describe(request)}: ${code}`, {
      inDoubt: write && !NOT_SENT_CODES.has(code),
      cause: error,
    }),
  };
}

export function outcomeOfAnswer<T>(
  answer: HttpAnswer,
  request: KustomerRequest,
  schema: z.ZodMiniType<T>,
  context: AnswerContext,
): Outcome<T> {
  const { status } = answer;
  const write = request.method === "PUT";
  if (answer.cutOff) {
    const cutOff = `Kustomer answered ${describe(request)} with ${status}, then the connection broke before the body ended`;
    // A 2xx to a write was accepted: never sent again, its customers in doubt.
    if (status >= 200 && status < 300 && write) throw new KustomerUnavailableError(cutOff, { kustomerStatus: status, inDoubt: true });
    return { kind: "retry", error: new KustomerUnavailableError(cutOff, { kustomerStatus: status, inDoubt: write }) };
  }
  if (answer.tooLarge) {
    const tooLarge = `Kustomer answered ${describe(request)} with ${status} and over ${MAX_ANSWER_BYTES / (1024 * 1024)} MB`;
    // A 2xx to a write was accepted, whatever its body says: never sent again, its customers in doubt.
    if (status >= 200 && status < 300 && write)
      throw new KustomerUnavailableError(`${tooLarge}, not read`, { kustomerStatus: status, inDoubt: true });
    return { kind: "retry", error: new KustomerUnavailableError(tooLarge, { kustomerStatus: status }) };
  }
  if (status >= 200 && status < 300) {
    const parsed = schema.safeParse(parseJson(answer.body));
    if (parsed.success) return { kind: "ok", data: parsed.data };
    // A 2xx to a write means Kustomer took it: sending it again would apply it twice (CONTRACT §2.6).
    if (write) {
      throw new KustomerUnavailableError(`Kustomer accepted ${describe(request)} with ${status}, but its answer could not be read`, {
        kustomerStatus: status,
        inDoubt: true,
      });
    }
    return {
      kind: "retry",
      error: new KustomerUnavailableError(`Kustomer answered ${describe(request)} with ${status} but an unexpected body`, {
        kustomerStatus: status,
      }),
    };
  }
  if (status === 401) return { kind: "unauthorized" };
  if (status === 403) throw KustomerAuthError.of(403, request.role);
  if (status === 429) {
    context.counters.count("RateLimited");
    const askedMs = serverWaitMs(answer.headers, context.now());
    // Kept: the next commands wait for it too, rather than collect 429s of their own.
    if (askedMs !== undefined) context.budget.holdUntil(context.now() + askedMs);
    // A wait of nothing (a reset already past) would retry at once: never less than the backoff.
    const waitMs = Math.max(askedMs ?? 0, context.backoffMs());
    return {
      kind: "retry",
      waitMs,
      error: new KustomerRateLimitError(`Kustomer rate limit reached for ${describe(request)}`, {
        kustomerStatus: 429,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      }),
    };
  }
  if (status >= 500) {
    return {
      kind: "retry",
      waitMs: serverWaitMs(answer.headers, context.now(), false),
      // A gateway's 502 or 504 is not Kustomer's answer: the write may have reached it behind the gateway.
      error: new KustomerUnavailableError(`Kustomer answered ${describe(request)} with ${status}`, {
        timedOut: status === 504,
        kustomerStatus: status,
        inDoubt: write && (status === 502 || status === 504),
      }),
    };
  }
  const details = parseKustomerErrors(parseJson(answer.body.replaceAll(context.apiKey, "[key]")));
  // Kustomer's own words stay in `details` (redacted, for HTTP callers); the message, which logs,
  // Step Functions and dead letters carry, names only its error codes.
  const codes = [...new Set(details.map((detail) => detail.code).filter(Boolean))].slice(0, 5).join(", ");
  throw new KustomerRequestError(`Kustomer rejected ${describe(request)} with ${status}${codes ? ` (${codes})` : ""}`, {
    kustomerStatus: status,
    details,
  });
}

/** How long the server asked us to wait: Retry-After, else (for 429) until x-ratelimit-reset; never beyond a trusted wait. */
export function serverWaitMs(headers: HttpHeaders, now: number, useReset = true): number | undefined {
  const retryAfter = headers.get("retry-after");
  if (retryAfter) {
    const at = trusted(/^\d+$/.test(retryAfter.trim()) ? now + Number(retryAfter) * 1000 : Date.parse(retryAfter), now);
    if (at !== undefined && Number.isFinite(at)) return Math.max(0, at - now);
  }
  if (!useReset) return undefined;
  const resetAt = resetAtOf(headers, now);
  return resetAt === undefined ? undefined : Math.max(0, resetAt - now);
}

export function describe(request: KustomerRequest): string {
  return `${request.method} ${request.path}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
