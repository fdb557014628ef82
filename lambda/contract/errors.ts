// The named errors of the contract (CONTRACT §4). Step Functions matches on `name`, HTTP callers get
// `httpStatus`, so both are fixed per class and never derived from the (minified) class name.
import type { Settled } from "./requests.ts";

export interface ValidationIssue {
  path: string;
  message: string;
}

/** What had already happened when a multi-request submit stopped. */
export interface SubmissionProgress {
  acceptedBulkIds: string[];
  /** Customers whose request may have reached Kustomer, with no answer saying what became of it. */
  inDoubtCustomerIds: string[];
  unsentCustomerIds: string[];
  /** The same, by request, for the workflow's resubmission: what it must not send again. */
  settled?: Settled;
  /** With the changes table: which of the command's updates were to be sent (a bitmap); a resubmission sends the same. */
  sent?: string;
}

/** Issues a message quotes; the answer lists more (MAX_LISTED_ISSUES). */
export const MAX_ISSUES_IN_MESSAGE = 10;
/** Issues listed in an answer: enough to fix a request, few enough to keep every answer small. */
export const MAX_LISTED_ISSUES = 100;

/** A ValidationError whose message quotes the first issues and counts the rest. */
export function validationErrorOf(issues: ValidationIssue[], httpStatus = 400, issueCount = issues.length): ValidationError {
  const listed = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => `${issue.path || "(request)"}: ${issue.message}`);
  const more = issueCount > MAX_ISSUES_IN_MESSAGE ? ` (and ${issueCount - MAX_ISSUES_IN_MESSAGE} more)` : "";
  return new ValidationError(`invalid request: ${listed.join("; ")}${more}`, {
    issues: issues.slice(0, MAX_LISTED_ISSUES),
    issueCount,
    httpStatus,
  });
}

/** The one name of a failure that is none of the contract's: in answers, logs and metrics alike. */
export const INTERNAL_ERROR = "InternalError" as const;

/** The contract's name of any failure. */
export function errorNameOf(error: unknown): string {
  return error instanceof BulkUpdateError ? error.name : INTERNAL_ERROR;
}

export interface BulkUpdateErrorOptions {
  cause?: unknown;
  /** What had already happened when a multi-request submit stopped. */
  progress?: SubmissionProgress;
}

/** The message's account of progress: bulk ids and counts, never customer ids (those are in `progress`). */
function progressNote({ acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds }: SubmissionProgress): string {
  return (
    `. Accepted before the failure: bulk ids ${acceptedBulkIds.join(",") || "none"}.` +
    (inDoubtCustomerIds.length ? ` In doubt: ${inDoubtCustomerIds.length} customers (listed in inDoubtCustomerIds).` : "") +
    ` Not sent: ${unsentCustomerIds.length} customers (listed in unsentCustomerIds). Re-sending the whole command is safe.`
  );
}

export abstract class BulkUpdateError<Options extends BulkUpdateErrorOptions = BulkUpdateErrorOptions> extends Error {
  abstract override readonly name: string;
  abstract readonly retryable: boolean;
  abstract readonly httpStatus: number;
  readonly progress?: SubmissionProgress;

  constructor(
    /** The message without the progress note. */
    readonly reason: string,
    readonly options: Options = {} as Options,
  ) {
    // With nothing accepted, nothing was sent: the reason alone says it all.
    const progress = options.progress;
    super(
      progress && (progress.acceptedBulkIds.length || progress.inDoubtCustomerIds.length) ? `${reason}${progressNote(progress)}` : reason,
      { cause: options.cause },
    );
    this.progress = options.progress;
  }

  /** The same failure, now knowing what had been done before it: a new error, so no message is rewritten. */
  withProgress(progress: SubmissionProgress): this {
    const Same = this.constructor as new (reason: string, options: Options) => this;
    return new Same(this.reason, { ...this.options, progress, cause: this });
  }
}

export interface ValidationErrorOptions extends BulkUpdateErrorOptions {
  /** The first issues found, at most MAX_LISTED_ISSUES. */
  issues?: ValidationIssue[];
  /** Every issue found, listed or not. */
  issueCount?: number;
  httpStatus?: number;
}

export class ValidationError extends BulkUpdateError<ValidationErrorOptions> {
  readonly name = "ValidationError";
  readonly retryable = false;
  readonly httpStatus: number;
  readonly issues: ValidationIssue[];
  readonly issueCount: number;

  constructor(message: string, options: ValidationErrorOptions = {}) {
    super(message, options);
    this.issues = options.issues ?? [];
    this.issueCount = options.issueCount ?? this.issues.length;
    this.httpStatus = options.httpStatus ?? 400;
  }
}

/** A failure that is none of the contract's, a bug: its text could hold anything, so callers get none of it. */
export class InternalError extends BulkUpdateError {
  readonly name = INTERNAL_ERROR;
  readonly retryable = false;
  readonly httpStatus = 500;
}

/** Any failure as the contract names it: one of ours as it is, any other as InternalError caused by it. */
export function contractErrorOf(error: unknown): BulkUpdateError {
  return error instanceof BulkUpdateError ? error : new InternalError("internal error", { cause: error });
}

/** GET /bulk/{bulkId} of an operation Kustomer does not know. */
export class NotFoundError extends BulkUpdateError {
  readonly name = "NotFoundError";
  readonly retryable = false;
  readonly httpStatus = 404;
}

export class ConfigurationError extends BulkUpdateError {
  readonly name = "ConfigurationError";
  readonly retryable = false;
  readonly httpStatus = 500;
}

/** Secrets Manager throttled or failed after the SDK's own retries: transient, unlike a missing secret. */
export class SecretUnavailableError extends BulkUpdateError {
  readonly name = "SecretUnavailableError";
  readonly retryable = true;
  readonly httpStatus = 503;
}

export interface IdempotencyConflictErrorOptions extends BulkUpdateErrorOptions {
  /** The key's first request is still running: the same request may be sent again later. */
  inFlight: boolean;
}

/** An idempotency key reused with a different command, or while its first request is in flight (CONTRACT §2.4). */
export class IdempotencyConflictError extends BulkUpdateError<IdempotencyConflictErrorOptions> {
  readonly name = "IdempotencyConflictError";
  readonly httpStatus = 409;
  readonly retryable: boolean;
  /** In flight: when to try again, as Retry-After says it. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, options: IdempotencyConflictErrorOptions) {
    super(message, options);
    this.retryable = options.inFlight;
    if (options.inFlight) this.retryAfterSeconds = 1;
  }
}

/** The idempotency table could not be read or written: nothing was sent, and trying again is safe. */
export class IdempotencyUnavailableError extends BulkUpdateError {
  readonly name = "IdempotencyUnavailableError";
  readonly retryable = true;
  readonly httpStatus = 503;
}
