// Kustomer's failures, as the contract names them (CONTRACT §4): each with Kustomer's HTTP status
// where there is one, and whether the request may have reached Kustomer unanswered (in doubt).
import { BulkUpdateError, type BulkUpdateErrorOptions } from "./errors.ts";

/** One Kustomer error entry, normalised from either of Kustomer's two error shapes (kustomer/wire.ts). */
export interface KustomerErrorDetail {
  status?: number;
  code?: string;
  title?: string;
  detail?: string;
  pointer?: string;
}

export interface KustomerErrorOptions extends BulkUpdateErrorOptions {
  /** The HTTP status Kustomer answered, when it answered. */
  kustomerStatus?: number;
  /**
   * A request of this call may have reached Kustomer with no answer saying what became of it (a timeout
   * or reset after sending, a 2xx that could not be read): its customers are in doubt (CONTRACT §2.6).
   */
  inDoubt?: boolean;
}

/** A failure of Kustomer's, with the status it answered (when it answered). */
export abstract class KustomerError<Options extends KustomerErrorOptions = KustomerErrorOptions> extends BulkUpdateError<Options> {
  readonly kustomerStatus?: number;
  readonly inDoubt: boolean;

  constructor(message: string, options: Options) {
    super(message, options);
    this.kustomerStatus = options.kustomerStatus;
    this.inDoubt = options.inDoubt ?? false;
  }

  /** The same failure, now known to follow an attempt whose fate is unknown. */
  withInDoubt(): this {
    const Same = this.constructor as new (reason: string, options: Options) => this;
    return new Same(this.reason, { ...this.options, inDoubt: true, cause: this });
  }
}

export class KustomerAuthError extends KustomerError<KustomerErrorOptions & { kustomerStatus: 401 | 403 }> {
  readonly name = "KustomerAuthError";
  readonly retryable = false;
  readonly httpStatus = 502;
  declare readonly kustomerStatus: 401 | 403;

  /** `role`: the one the request needed, named in a 403's message. */
  static of(kustomerStatus: 401 | 403, role?: string): KustomerAuthError {
    return new KustomerAuthError(
      kustomerStatus === 401
        ? "Kustomer rejected the API key (401), also after fetching the secret again"
        : `Kustomer refused the request (403): the API key lacks the role ${role ?? "this request needs"}`,
      { kustomerStatus },
    );
  }
}

export interface KustomerRequestErrorOptions extends KustomerErrorOptions {
  kustomerStatus: number;
  /** Kustomer's own error entries, normalised. */
  details?: KustomerErrorDetail[];
}

export class KustomerRequestError extends KustomerError<KustomerRequestErrorOptions> {
  readonly name = "KustomerRequestError";
  readonly retryable = false;
  readonly httpStatus = 422;
  declare readonly kustomerStatus: number;
  readonly details: KustomerErrorDetail[];

  constructor(message: string, options: KustomerRequestErrorOptions) {
    super(message, options);
    this.details = options.details ?? [];
  }
}

export interface KustomerRateLimitErrorOptions extends KustomerErrorOptions {
  /** When to try again, as the Retry-After header says it. */
  retryAfterSeconds: number;
}

export class KustomerRateLimitError extends KustomerError<KustomerRateLimitErrorOptions> {
  readonly name = "KustomerRateLimitError";
  readonly retryable = true;
  readonly httpStatus = 429;
  readonly retryAfterSeconds: number;

  constructor(message: string, options: KustomerRateLimitErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export interface KustomerUnavailableErrorOptions extends KustomerErrorOptions {
  /** Kustomer did not answer in time (HTTP 504 rather than 503). */
  timedOut?: boolean;
}

export class KustomerUnavailableError extends KustomerError<KustomerUnavailableErrorOptions> {
  readonly name = "KustomerUnavailableError";
  readonly retryable = true;
  readonly httpStatus: number;
  readonly timedOut: boolean;

  constructor(message: string, options: KustomerUnavailableErrorOptions = {}) {
    super(message, options);
    this.timedOut = options.timedOut ?? false;
    this.httpStatus = this.timedOut ? 504 : 503;
  }
}
