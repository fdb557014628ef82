// HTTP to Kustomer: bearer auth, per-request timeout, retries with capped exponential backoff and
// full jitter, Kustomer's rate-limit headers, and its two error shapes mapped to the contract's errors.
import type * as z from "zod/mini";
import type { ApiKeyProvider } from "../adapters/aws/secrets.ts";
import type { BulkUpdateError } from "../contract/errors.ts";
import {
  KustomerAuthError,
  KustomerError,
  KustomerRateLimitError,
  KustomerRequestError,
  KustomerUnavailableError,
} from "../contract/kustomer-errors.ts";
import { type HttpAnswer, type HttpHeaders, sendHttp } from "../platform/http-client.ts";
import { type Counters, type Log, noCounters, noteRateLimitWait } from "../platform/observability.ts";
import { RateBudget, readBudget, resetAtOf, trusted } from "./rate-budget.ts";
import { parseKustomerErrors } from "./wire.ts";

export interface KustomerRequest {
  method: "GET" | "PUT";
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface KustomerClientOptions {
  baseUrl: string;
  timeoutMs: number;
  maxAttempts: number;
  /** Share of the org's budget left to its other integrations (KUSTOMER_RATE_LIMIT_HEADROOM). */
  rateLimitHeadroom: number;
  keys: ApiKeyProvider;
  log: Log;
  counters?: Counters;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface Sent<T> {
  data: T;
  attempts: number;
}

/** Names this service to Kustomer (and to whatever fronts its API) in every request. */
const USER_AGENT = "kustomer-bulk-update";
/** Kustomer's answers are read up to this (CONTRACT §4.1): a larger one is not buffered. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** Below this, an attempt cannot finish in time: better to report than to be killed mid-request. */
const MIN_ATTEMPT_MS = 250;
/** Backoff: full jitter under a ceiling that doubles from 200 ms up to 5 s. */
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Network failures that happen before a request's first byte is written: nothing reached Kustomer. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

type Outcome<T> = { kind: "ok"; data: T } | { kind: "unauthorized" } | { kind: "retry"; error: BulkUpdateError; waitMs?: number };

/** What the use cases need of Kustomer: a request, checked against the shape of its answer. */
export interface KustomerApi {
  send<T>(request: KustomerRequest, schema: z.ZodMiniType<T>, deadlineAt: number): Promise<Sent<T>>;
}

export class KustomerClient implements KustomerApi {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly counters: Counters;
  /** Kept across warm invocations, like the org's budget itself. */
  private readonly budget: RateBudget;

  constructor(private readonly options: KustomerClientOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.counters = options.counters ?? noCounters;
    this.budget = new RateBudget(options.rateLimitHeadroom, this.now);
  }

  /** Starts fetching the key now, so its round trip overlaps other work; a failure surfaces at send. */
  prefetchKey(): void {
    this.options.keys.getApiKey().catch(() => undefined);
  }

  /** Sends one request, retrying what can be retried until `deadlineAt` (epoch ms). */
  async send<T>(request: KustomerRequest, schema: z.ZodMiniType<T>, deadlineAt: number): Promise<Sent<T>> {
    const state = { unanswered: false };
    try {
      return await this.sendUntilAnswered(request, schema, deadlineAt, state);
    } catch (error) {
      // Whatever ended the tries, an earlier one may have reached Kustomer unanswered: say so (CONTRACT §2.6).
      if (!state.unanswered || (error instanceof KustomerError && error.inDoubt)) throw error;
      if (error instanceof KustomerError) throw error.withInDoubt();
      throw new KustomerUnavailableError(`an earlier attempt of ${describe(request)} went unanswered, then: ${(error as Error).name}`, {
        inDoubt: true,
        cause: error,
      });
    }
  }

  private async sendUntilAnswered<T>(
    request: KustomerRequest,
    schema: z.ZodMiniType<T>,
    deadlineAt: number,
    state: { unanswered: boolean },
  ): Promise<Sent<T>> {
    let attempts = 0;
    let keyRefreshed = false;
    let forceRefresh = false;
    // Serialised once: retries send the same bytes.
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    for (;;) {
      await this.waitForBudget(deadlineAt);
      const remaining = deadlineAt - this.now();
      if (remaining < MIN_ATTEMPT_MS) {
        throw new KustomerUnavailableError(`no time left in the invocation to send ${describe(request)}`, { timedOut: true });
      }
      attempts += 1;
      const apiKey = await this.options.keys.getApiKey({ forceRefresh });
      forceRefresh = false;
      const outcome = await this.attempt(request, body, schema, apiKey, Math.min(this.options.timeoutMs, remaining), attempts);
      if (outcome.kind === "ok") return { data: outcome.data, attempts };
      if (outcome.kind === "unauthorized") {
        // The key may have been rotated since it was cached: fetch it once more, then give up.
        if (keyRefreshed) throw KustomerAuthError.of(401);
        keyRefreshed = true;
        forceRefresh = true;
        this.options.log.warn("Kustomer answered 401; fetching the API key again", { path: request.path });
        continue;
      }
      state.unanswered ||= outcome.error instanceof KustomerError && outcome.error.inDoubt;
      const waitMs = outcome.waitMs ?? this.backoff(attempts);
      const fitsDeadline = this.now() + waitMs + MIN_ATTEMPT_MS <= deadlineAt;
      if (attempts >= this.options.maxAttempts || !fitsDeadline) throw outcome.error;
      this.counters.count("Retries");
      // Detail for debugging only: the invocation's one summary line counts the retries.
      this.options.log.debug("retrying Kustomer request", {
        method: request.method,
        path: request.path,
        attempt: attempts,
        error: outcome.error.name,
        kustomerStatus: outcome.error instanceof KustomerError ? outcome.error.kustomerStatus : undefined,
        waitMs: Math.round(waitMs),
      });
      if (outcome.error instanceof KustomerRateLimitError) noteRateLimitWait(waitMs);
      await this.sleep(waitMs);
    }
  }

  private async attempt<T>(
    request: KustomerRequest,
    body: string | undefined,
    schema: z.ZodMiniType<T>,
    apiKey: string,
    timeoutMs: number,
    attempt: number,
  ): Promise<Outcome<T>> {
    const url = new URL(request.path, this.options.baseUrl);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);

    let answer: HttpAnswer;
    try {
      answer = await sendHttp(url, {
        method: request.method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: "application/json",
          "user-agent": USER_AGENT,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body,
        timeoutMs,
        maxBodyBytes: MAX_ANSWER_BYTES,
      });
    } catch (error) {
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

    const budget = readBudget(answer.headers, this.now());
    this.budget.note(budget);
    if (budget.remaining !== undefined) this.counters.observe("RateLimitRemaining", budget.remaining);
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
    if (status === 403) throw KustomerAuthError.of(403);
    if (status === 429) {
      this.counters.count("RateLimited");
      const serverWaitMs = this.serverWaitMs(answer.headers);
      // Kept: the next commands wait for it too, rather than collect 429s of their own.
      if (serverWaitMs !== undefined) this.budget.holdUntil(this.now() + serverWaitMs);
      // A wait of nothing (a reset already past) would retry at once: never less than the backoff.
      const waitMs = Math.max(serverWaitMs ?? 0, this.backoff(attempt));
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
        waitMs: this.serverWaitMs(answer.headers, false),
        // A gateway's 502 or 504 is not Kustomer's answer: the write may have reached it behind the gateway.
        error: new KustomerUnavailableError(`Kustomer answered ${describe(request)} with ${status}`, {
          timedOut: status === 504,
          kustomerStatus: status,
          inDoubt: write && (status === 502 || status === 504),
        }),
      };
    }
    const details = parseKustomerErrors(parseJson(answer.body.replaceAll(apiKey, "[key]")));
    // Kustomer's own words stay in `details` (redacted, for HTTP callers); the message, which logs,
    // Step Functions and dead letters carry, names only its error codes.
    const codes = [...new Set(details.map((detail) => detail.code).filter(Boolean))].slice(0, 5).join(", ");
    throw new KustomerRequestError(`Kustomer rejected ${describe(request)} with ${status}${codes ? ` (${codes})` : ""}`, {
      kustomerStatus: status,
      details,
    });
  }

  private backoff(attempt: number): number {
    return this.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  }

  /** How long the server asked us to wait: Retry-After, else (for 429) until x-ratelimit-reset; never beyond a trusted wait. */
  private serverWaitMs(headers: HttpHeaders, useReset = true): number | undefined {
    const retryAfter = headers.get("retry-after");
    if (retryAfter) {
      const at = trusted(/^\d+$/.test(retryAfter.trim()) ? this.now() + Number(retryAfter) * 1000 : Date.parse(retryAfter), this.now());
      if (at !== undefined && Number.isFinite(at)) return Math.max(0, at - this.now());
    }
    if (!useReset) return undefined;
    const resetAt = resetAtOf(headers, this.now());
    return resetAt === undefined ? undefined : Math.max(0, resetAt - this.now());
  }

  /**
   * Holds the request back while the org's budget is down to its headroom (until the reset) or while
   * it is paced; refuses at once when the wait would outlast the invocation.
   */
  private async waitForBudget(deadlineAt: number): Promise<void> {
    let waitedMs = 0;
    for (let waitMs = this.budget.delayMs(); waitMs > 0; waitMs = this.budget.delayMs()) {
      if (this.now() + waitMs + MIN_ATTEMPT_MS > deadlineAt) {
        throw new KustomerRateLimitError(
          "Kustomer's rate limit budget, less the share kept for the org's other integrations, is spent until its reset, later than this invocation can wait",
          { retryAfterSeconds: Math.ceil(waitMs / 1000) },
        );
      }
      noteRateLimitWait(waitMs);
      await this.sleep(waitMs);
      waitedMs += waitMs;
    }
    this.budget.take();
    if (waitedMs > 0) this.counters.observe("HeadroomWaitMs", waitedMs);
  }
}

function describe(request: KustomerRequest): string {
  return `${request.method} ${request.path}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
