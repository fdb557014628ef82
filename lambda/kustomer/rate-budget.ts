// Kustomer's rate limit is the whole org's (CONTRACT §2.5): every answer's x-ratelimit-* headers say
// what is left of the org-wide budget, so each instance can keep a share free for the org's other
// integrations without talking to any other instance.
import type { HttpHeaders } from "../platform/http-client.ts";

/** What one answer said about the org's budget. */
export interface BudgetReading {
  limit?: number;
  remaining?: number;
  resetAt?: number;
}

interface Window {
  limit?: number;
  remaining: number;
  resetAt: number;
}

/**
 * Pacing starts once less than this share of the allowed requests is left in a window: a small
 * command still goes out at full speed, a long job spreads the rest of each window evenly.
 */
const PACE_BELOW_SHARE = 0.5;

/**
 * A wait Kustomer asks for beyond this is not believed (CONTRACT §2.6): one header must not stop a warm
 * function for hours. Capped backoff takes its place.
 */
const MAX_TRUSTED_WAIT_MS = 15 * 60 * 1000;

/** A time to wait until, if it is no further ahead than a wait Kustomer is trusted with. */
export const trusted = (at: number | undefined, now: number) => (at !== undefined && at - now <= MAX_TRUSTED_WAIT_MS ? at : undefined);

/**
 * x-ratelimit-reset is documented loosely: epoch seconds, epoch ms, seconds from now, or a date. A
 * reset further ahead than MAX_TRUSTED_WAIT_MS (a day, or 60000 meant as ms and read as seconds) is
 * treated as absent.
 */
export function resetAtOf(headers: HttpHeaders, now: number): number | undefined {
  const value = headers.get("x-ratelimit-reset")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) {
    const number = Number(value);
    if (number >= 1e12) return trusted(number, now);
    if (number >= 1e9) return trusted(number * 1000, now);
    return trusted(now + number * 1000, now);
  }
  const date = Date.parse(value);
  return Number.isFinite(date) ? trusted(date, now) : undefined;
}

function wholeNumber(headers: HttpHeaders, name: string): number | undefined {
  const value = headers.get(name)?.trim();
  return value && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function readBudget(headers: HttpHeaders, now: number): BudgetReading {
  return {
    limit: wholeNumber(headers, "x-ratelimit-limit"),
    remaining: wholeNumber(headers, "x-ratelimit-remaining"),
    resetAt: resetAtOf(headers, now),
  };
}

/**
 * The org's budget as this client last saw it, less what it has sent since. It holds requests back
 * so that `headroom` x limit stays free until the reset, and spreads the last half of its own share
 * over what is left of the window, so in-flight requests overshoot less and neighbours see no spike.
 * With a headroom of 0 it only waits out a spent budget.
 */
export class RateBudget {
  private window?: Window;
  private nextSendAt = 0;
  /** Kustomer's last trusted Retry-After on a 429: every request waits for it, not only the one refused. */
  private heldUntil = 0;

  constructor(
    private readonly headroom: number,
    private readonly now: () => number,
  ) {}

  /** Notes an answer's headers. Answers may arrive out of order: within a window the lowest count wins. */
  note({ limit, remaining, resetAt }: BudgetReading): void {
    if (remaining === undefined || resetAt === undefined) return;
    const current = this.current();
    const sameWindow = current && Math.abs(current.resetAt - resetAt) < 1000;
    this.window = { limit: limit ?? current?.limit, remaining: sameWindow ? Math.min(current.remaining, remaining) : remaining, resetAt };
  }

  /** Holds every request back until `at`, as a 429's Retry-After asks. */
  holdUntil(at: number): void {
    this.heldUntil = Math.max(this.heldUntil, at);
  }

  /** How long to hold the next request back; 0 means it may go now. */
  delayMs(): number {
    const held = Math.max(0, this.heldUntil - this.now());
    return Math.max(held, this.windowDelayMs());
  }

  private windowDelayMs(): number {
    const window = this.current();
    if (!window) return 0;
    const { available, pacing } = this.share(window);
    // One more would take the count below the reserve (or past a spent budget): wait for the reset.
    if (available < 1) return window.resetAt - this.now();
    return pacing ? Math.max(0, this.nextSendAt - this.now()) : 0;
  }

  /** Counts a request about to be sent against the budget, and sets when the next may follow. */
  take(): void {
    const window = this.current();
    if (!window) return;
    const now = this.now();
    const { available, pacing } = this.share(window);
    this.nextSendAt = pacing ? Math.max(now, this.nextSendAt) + (window.resetAt - now) / Math.max(1, available) : now;
    window.remaining -= 1;
  }

  /** What this client may still send in the window, and whether it is down to the part it spreads out. */
  private share(window: Window): { available: number; pacing: boolean } {
    const available = window.remaining - this.headroom * (window.limit ?? 0);
    const allowed = (window.limit ?? window.remaining) * (1 - this.headroom);
    return { available, pacing: this.headroom > 0 && available < allowed * PACE_BELOW_SHARE };
  }

  /** The window in force, if its reset is still ahead. */
  private current(): Window | undefined {
    if (this.window && this.window.resetAt <= this.now()) {
      this.window = undefined;
      this.nextSendAt = 0;
    }
    return this.window;
  }
}
