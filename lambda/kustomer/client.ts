// HTTP to Kustomer: bearer auth, per-request timeout, retries with capped exponential backoff and
// full jitter, and Kustomer's rate-limit headers. What each answer means is answer.ts's.
import type * as z from "zod/mini";
import type { ApiKeyProvider } from "../adapters/aws/secrets.ts";
import { KustomerAuthError, KustomerError, KustomerRateLimitError, KustomerUnavailableError } from "../contract/kustomer-errors.ts";
import type { Counters, Log } from "../core/ports.ts";
import { type HttpAnswer, sendHttp } from "../platform/http-client.ts";
import { noCounters, noteRateLimitWait } from "../platform/observability.ts";
import { describe, type KustomerRequest, MAX_ANSWER_BYTES, type Outcome, outcomeOfAnswer, outcomeOfFailure } from "./answer.ts";
import { RateBudget, readBudget } from "./rate-budget.ts";

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
/** Below this, an attempt cannot finish in time: better to report than to be killed mid-request. */
const MIN_ATTEMPT_MS = 250;
/** Backoff: full jitter under a ceiling that doubles from 200 ms up to 5 s. */
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;

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
      return outcomeOfFailure(request, error, timeoutMs);
    }

    const budget = readBudget(answer.headers, this.now());
    this.budget.note(budget);
    if (budget.remaining !== undefined) this.counters.observe("RateLimitRemaining", budget.remaining);
    return outcomeOfAnswer(answer, request, schema, {
      apiKey,
      budget: this.budget,
      counters: this.counters,
      now: this.now,
      backoffMs: () => this.backoff(attempt),
    });
  }

  private backoff(attempt: number): number {
    return this.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
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
