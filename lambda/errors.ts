// The named errors of the contract (CONTRACT §4). Step Functions matches on `name`, HTTP callers get
// `httpStatus`, so both are fixed per class and never derived from the (minified) class name.

export interface ValidationIssue {
  path: string;
  message: string;
}

/** One Kustomer error entry, normalised from either of Kustomer's two error shapes. */
export interface KustomerErrorDetail {
  status?: number;
  code?: string;
  title?: string;
  detail?: string;
  pointer?: string;
}

/** What had already happened when a multi-request submit stopped. */
export interface SubmissionProgress {
  acceptedBulkIds: string[];
  unsentCustomerIds: string[];
}

export abstract class BulkUpdateError extends Error {
  abstract override readonly name: string;
  abstract readonly retryable: boolean;
  abstract readonly httpStatus: number;
  progress?: SubmissionProgress;
}

export interface ValidationErrorOptions {
  /** The first issues found, at most MAX_LISTED_ISSUES. */
  issues?: ValidationIssue[];
  /** Every issue found, listed or not. */
  issueCount?: number;
  httpStatus?: number;
  cause?: unknown;
}

export class ValidationError extends BulkUpdateError {
  readonly name = "ValidationError";
  readonly retryable = false;
  readonly httpStatus: number;
  readonly issues: ValidationIssue[];
  readonly issueCount: number;

  constructor(message: string, { issues = [], issueCount = issues.length, httpStatus = 400, cause }: ValidationErrorOptions = {}) {
    super(message, { cause });
    this.issues = issues;
    this.issueCount = issueCount;
    this.httpStatus = httpStatus;
  }
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

export class KustomerAuthError extends BulkUpdateError {
  readonly name = "KustomerAuthError";
  readonly retryable = false;
  readonly httpStatus = 502;

  constructor(readonly kustomerStatus: number) {
    super(
      kustomerStatus === 401
        ? "Kustomer rejected the API key (401), also after fetching the secret again"
        : "Kustomer refused the request (403): the API key lacks the role org.permission.customer.update",
    );
  }
}

export class KustomerRequestError extends BulkUpdateError {
  readonly name = "KustomerRequestError";
  readonly retryable = false;
  readonly httpStatus = 422;

  constructor(
    message: string,
    readonly kustomerStatus: number,
    readonly details: KustomerErrorDetail[] = [],
  ) {
    super(message);
  }
}

export class KustomerRateLimitError extends BulkUpdateError {
  readonly name = "KustomerRateLimitError";
  readonly retryable = true;
  readonly httpStatus = 429;

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class KustomerUnavailableError extends BulkUpdateError {
  readonly name = "KustomerUnavailableError";
  readonly retryable = true;
  readonly httpStatus: number;

  constructor(
    message: string,
    readonly timedOut = false,
    readonly kustomerStatus?: number,
  ) {
    super(message);
    this.httpStatus = timedOut ? 504 : 503;
  }
}
