// The function's configuration (CONTRACT §5): read from the environment once, checked with zod/mini.
import * as z from "zod/mini";
import { ConfigurationError } from "../contract/errors.ts";
import "../contract/zod-messages.ts";
import { DEFAULT_CONCURRENCY, MAX_COMMAND_ITEMS, MAX_CONCURRENCY } from "../contract/limits.ts";
import { CLIENT_ATTEMPTS } from "../contract/retry-policy.ts";

// An empty variable counts as unset: a blank line in a .env file must not become a value.
const unsetIfEmpty = (value: unknown) => (value === "" ? undefined : value);

/** An empty variable counts as unset, then the schema applies. */
const variable = <T extends z.ZodMiniType>(schema: T) => z.pipe(z.transform(unsetIfEmpty), schema);

/** A number in [min, max], whole unless told otherwise, with one message for every way to miss it. */
const number = (min: number, max: number, { whole = true, noun }: { whole?: boolean; noun?: string } = {}) => {
  const message = `must be a ${noun ?? (whole ? "whole number" : "number")} from ${min} to ${max}`;
  return z.coerce
    .number<string>({ error: message })
    .check(...(whole ? [z.int({ error: message })] : []), z.gte(min, message), z.lte(max, message));
};
const integer = (min: number, max: number, fallback: number) => variable(z._default(number(min, max), fallback));
const share = (max: number, fallback: number) => variable(z._default(number(0, max, { whole: false }), fallback));

const optionalText = variable(z.optional(z.string()));

const optionalPort = variable(z.optional(number(1, 65_535, { noun: "port number" })));

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;
/** Kustomer's hosts: api., api.prod2., api.prod4., and per-org {org}.api. */
const KUSTOMER_HOSTS = /(^|\.)kustomerapp\.com$/;

/** The key goes only to this host, so it must be https (plain http only to this machine). */
const baseUrl = variable(
  z.pipe(
    z._default(z.string(), "https://api.kustomerapp.com"),
    z.transform((value: string, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.issues.push({ code: "custom", message: "must be an absolute URL such as https://api.kustomerapp.com", input: value });
        return z.NEVER;
      }
      const loopback = LOOPBACK_HOSTS.test(url.hostname);
      if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
        ctx.issues.push({ code: "custom", message: "must use https (plain http is allowed for loopback only)", input: value });
      }
      if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
        ctx.issues.push({ code: "custom", message: "must be a bare origin: no path, query, fragment or credentials", input: value });
      }
      return url;
    }),
  ),
);

const hostList = variable(
  z.pipe(
    z._default(z.string(), ""),
    z.transform((value: string) =>
      value
        .split(",")
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
    ),
  ),
);

const variables = z.object({
  KUSTOMER_SECRET_ID: optionalText,
  KUSTOMER_SECRET_FIELD: variable(z._default(z.string(), "apiKey")),
  KUSTOMER_API_KEY: optionalText,
  KUSTOMER_BASE_URL: baseUrl,
  KUSTOMER_ALLOWED_HOSTS: hostList,
  KUSTOMER_TIMEOUT_MS: integer(100, 900_000, 10_000),
  KUSTOMER_MAX_ATTEMPTS: integer(1, 10, CLIENT_ATTEMPTS),
  KUSTOMER_CONCURRENCY: integer(1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY),
  // At most 0.9: the service must keep some of the budget for itself.
  KUSTOMER_RATE_LIMIT_HEADROOM: share(0.9, 0.2),
  SECRET_TTL_SECONDS: integer(0, 86_400, 300),
  // At most 10,000: one status read covers a command's 100 operations, and its idempotency record
  // stays within DynamoDB's 400 KB item (idempotent-result.ts). Larger sets are jobs.
  MAX_ITEMS: integer(1, MAX_COMMAND_ITEMS, MAX_COMMAND_ITEMS),
  DEAD_LETTER_QUEUE_URL: variable(z.optional(z.url({ protocol: /^https?$/ }))),
  /** The workflow the burst queue's commands are handed to (CONTRACT §3.2). */
  WORKFLOW_STATE_MACHINE_ARN: variable(
    z.optional(z.string().check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/, "must be a state machine ARN"))),
  ),
  /** Set when the Parameters and Secrets Lambda Extension's layer is present (the stack adds it). */
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: optionalPort,
  /** Deliveries are applied once per key when set (CONTRACT §2.4); the stack sets it. */
  IDEMPOTENCY_TABLE_NAME: variable(z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name")))),
  /** How long a key is remembered: at least EventBridge's 24-hour retry window by default. */
  IDEMPOTENCY_TTL_SECONDS: integer(1, 30 * 86_400, 86_400),
  /** How long a bulk id this service recorded may read 404 before its customers are in doubt (CONTRACT §2.6). */
  KUSTOMER_NOT_FOUND_GRACE_SECONDS: integer(0, 86_400, 300),
  /** What Kustomer last applied, per customer and field: only changes are sent when set (CONTRACT §2.7). */
  CHANGES_TABLE_NAME: variable(z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name")))),
  /** How long a customer's hashes are trusted since it was last sent whole. */
  CHANGES_TTL_DAYS: integer(1, 365, 30),
  /** Where lists too long for an outcome event are kept (the job bucket). */
  RESULTS_BUCKET_NAME: variable(z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")))),
});

/** Every variable the function reads (CONTRACT §5): tests reset exactly these between worlds. */
export const CONFIG_VARIABLES = Object.keys(variables.shape) as Array<keyof typeof variables.shape>;

const environmentSchema = z.pipe(
  variables.check(
    z.superRefine((env, ctx) => {
      // A mistyped or tampered base URL must not carry the key anywhere but Kustomer (or this machine).
      const host = env.KUSTOMER_BASE_URL.hostname.toLowerCase();
      if (!KUSTOMER_HOSTS.test(host) && !LOOPBACK_HOSTS.test(host) && !env.KUSTOMER_ALLOWED_HOSTS.includes(host)) {
        ctx.addIssue({
          code: "custom",
          path: ["KUSTOMER_BASE_URL"],
          message: "must be a Kustomer host (*.kustomerapp.com) or loopback; list any other host in KUSTOMER_ALLOWED_HOSTS",
        });
      }
      if (!env.KUSTOMER_SECRET_ID && !env.KUSTOMER_API_KEY) {
        ctx.addIssue({
          code: "custom",
          path: ["KUSTOMER_SECRET_ID"],
          message: "is required: the name or ARN of the secret that holds the Kustomer API key",
        });
      }
    }),
  ),
  z.transform((env: z.output<typeof variables>) => ({
    // A secret wins over a local key, so a deployed function never runs on a developer's key.
    apiKeySource: env.KUSTOMER_SECRET_ID
      ? ({
          kind: "secret",
          secretId: env.KUSTOMER_SECRET_ID,
          field: env.KUSTOMER_SECRET_FIELD,
          extensionPort: env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
        } as const)
      : ({ kind: "environment", apiKey: env.KUSTOMER_API_KEY as string } as const),
    baseUrl: env.KUSTOMER_BASE_URL.origin,
    timeoutMs: env.KUSTOMER_TIMEOUT_MS,
    maxAttempts: env.KUSTOMER_MAX_ATTEMPTS,
    concurrency: env.KUSTOMER_CONCURRENCY,
    rateLimitHeadroom: env.KUSTOMER_RATE_LIMIT_HEADROOM,
    secretTtlMs: env.SECRET_TTL_SECONDS * 1000,
    maxItems: env.MAX_ITEMS,
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL,
    workflowStateMachineArn: env.WORKFLOW_STATE_MACHINE_ARN,
    resultsBucketName: env.RESULTS_BUCKET_NAME,
    notFoundGraceMs: env.KUSTOMER_NOT_FOUND_GRACE_SECONDS * 1000,
    idempotency: env.IDEMPOTENCY_TABLE_NAME
      ? { tableName: env.IDEMPOTENCY_TABLE_NAME, ttlSeconds: env.IDEMPOTENCY_TTL_SECONDS }
      : undefined,
    changes: env.CHANGES_TABLE_NAME ? { tableName: env.CHANGES_TABLE_NAME, ttlDays: env.CHANGES_TTL_DAYS } : undefined,
  })),
);

export type Config = z.infer<typeof environmentSchema>;

export function loadConfig(environment: Record<string, string | undefined>): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (parsed.success) return parsed.data;
  // zod's messages name the rule, never the value, so a mistyped key cannot leak through here.
  const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
  throw new ConfigurationError(`invalid configuration: ${problems.join("; ")}`);
}
