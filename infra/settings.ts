// The stack's settings, from CDK context (`-c name=value` or cdk.json), checked like the function's
// own configuration so a typo fails the synth instead of the deployment.
import * as z from "zod";
import { editDistance } from "../lambda/contract/edit-distance.ts";
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from "../lambda/contract/limits.ts";
import { DEFAULT_EVENT_SOURCE, OUTCOME_SOURCE } from "../lambda/contract/names.ts";
// The outcome events' source is never a request source, or an outcome could request an update.

/** Status checks one workflow run may make: about 11 history events each, against Step Functions' 25,000. */
export const MAX_STATUS_CHECKS = 2_000;

const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]);

const commaList = z.string().transform((value) =>
  value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean),
);
const roleArn = z
  .string()
  .regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)");

const settingsSchema = z
  .object({
    kustomerSecretName: z.string().min(1).optional(),
    kustomerSecretArn: z.string().startsWith("arn:").optional(),
    kustomerKmsKeyArn: z.string().startsWith("arn:").optional(),
    /** The one role that may put the Kustomer key in the secret the stack makes, or change it. */
    kustomerKeyAdminRoleArn: roleArn.optional(),
    kustomerBaseUrl: z.url({ protocol: /^https$/ }).default("https://api.kustomerapp.com"),
    kustomerRateLimitPerMinute: z.coerce.number().int().min(60).max(100_000).default(1000),
    kustomerConcurrency: z.coerce.number().int().min(1).max(MAX_CONCURRENCY).default(DEFAULT_CONCURRENCY),
    kustomerRateLimitHeadroom: z.coerce.number().min(0).max(0.9).default(0.2),
    eventBusName: z.string().min(1).optional(),
    apiKeyAuth: flag.default(false),
    /** With apiKeyAuth: one key and usage plan per caller named here. */
    apiKeyCallers: commaList.optional(),
    /** Without apiKeyAuth: the only roles the API lets call (a resource policy denies the others). */
    callerRoleArns: commaList.pipe(z.array(roleArn)).default([]),
    corsAllowOrigins: commaList.optional(),
    /** Request events are accepted from these sources only. */
    eventSources: commaList
      .pipe(
        z
          .array(z.string().min(1).max(256))
          .min(1, "must name at least one source")
          .refine((sources) => !sources.includes(OUTCOME_SOURCE), `must not include "${OUTCOME_SOURCE}", the source of the outcome events`),
      )
      .default([DEFAULT_EVENT_SOURCE]),
    /** Roles that may send commands to the burst queue directly and put job files under jobs/. */
    producerRoleArns: commaList.pipe(z.array(roleArn)).default([]),
    /** A role that may read what the stack keeps encrypted: dead letters, job results, execution data. */
    operatorRoleArn: roleArn.optional(),
    alarmEmail: z.email().optional(),
    statusPollSeconds: z.coerce.number().int().min(5).max(3600).default(30),
    /** How long the workflow reads status before it gives up with KustomerBulkIncompleteError. */
    statusTimeoutMinutes: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(360),
    jobToleratedFailurePercent: z.coerce.number().min(0).max(100).default(10),
    /** Make the changes table, so that only what changed since Kustomer last applied it is sent (CONTRACT §2.7). */
    sendOnlyChanges: flag.default(false),
    /** How long a customer's recorded values are trusted since it was last sent whole. */
    changesTtlDays: z.coerce.number().int().min(1).max(365).default(30),
  })
  .refine((settings) => !(settings.kustomerSecretName && settings.kustomerSecretArn), {
    message: "give kustomerSecretName or kustomerSecretArn, not both",
  })
  .refine((settings) => (settings.statusTimeoutMinutes * 60) / settings.statusPollSeconds <= MAX_STATUS_CHECKS, {
    path: ["statusTimeoutMinutes"],
    message: `allows at most ${MAX_STATUS_CHECKS} status checks (statusTimeoutMinutes x 60 / statusPollSeconds), so a run stays within Step Functions' 25,000 history events`,
  });

export type StackSettings = z.infer<typeof settingsSchema>;
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as Array<keyof StackSettings>;

/**
 * Context keys that look like one of the service's settings but are not (`kustomerRateLimit`, a
 * case slip, a typo): CDK would ignore them silently. CDK's own flags and other keys pass.
 */
export function mistypedSettings(keys: string[]): string[] {
  const names = SETTING_NAMES as string[];
  const near = (key: string, name: string) => {
    const [a, b] = [key.toLowerCase(), name.toLowerCase()];
    return editDistance(a, b) <= 2 || (a.length >= 6 && (b.startsWith(a) || a.startsWith(b)));
  };
  return keys
    .filter((key) => !names.includes(key) && !key.includes(":") && !key.startsWith("@"))
    .flatMap((key) => {
      const meant = names.filter((name) => near(key, name));
      return meant.length ? [`${key} (did you mean ${meant.join(" or ")}?)`] : [];
    });
}

export function readSettings(context: (name: string) => unknown, givenKeys: string[] = []): StackSettings {
  const mistyped = mistypedSettings(givenKeys);
  if (mistyped.length) {
    throw new Error(`invalid CDK context: unknown setting ${mistyped.join(", ")}; the service's settings are ${SETTING_NAMES.join(", ")}`);
  }
  const raw = Object.fromEntries(SETTING_NAMES.map((name) => [name, context(name)]).filter(([, value]) => value !== undefined));
  const parsed = settingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "context"}: ${issue.message}`);
  throw new Error(`invalid CDK context: ${problems.join("; ")}`);
}

/** One bulk request in flight, at a 200 ms round trip (a fast one), sends at most 300 a minute. */
export const REQUESTS_PER_MINUTE_PER_STREAM = 300;

/** How many invocations each path may run at once, and the reserved concurrency that holds them. */
export interface ConcurrencyPlan {
  /** The burst queue's event source mapping (maximum concurrency): it only starts workflow runs. */
  queue: number;
  /** The job's Distributed Map (MaxConcurrency): each child sends one bulk request at a time. */
  job: number;
  /** Left for the callers who wait for an answer: HTTP and direct invokes. */
  synchronous: number;
  /** The bulk-update function's reserved concurrency: the synchronous callers'. */
  reserved: number;
  /** The workflow's own function: each invocation runs `concurrency` streams. */
  workflow: number;
  /** The job's own function: the map's children, and the steps before and after them. */
  jobFunction: number;
}

/** A job's other steps (plan, collect, follow, report) run one at a time per run; two runs may overlap. */
const JOB_STEP_SLOTS = 2;

/** The least an SQS event source mapping runs with. */
const MIN_QUEUE_CONCURRENCY = 2;

/**
 * Each capped path gets as many invocations as it takes to spend the service's share of the org's
 * budget (the client's headroom paces them beyond that), and the synchronous callers get as many
 * again. The workflow and the job run on functions of their own, so a burst on one path can fill only
 * its own slots; the workflow's runs wait in Step Functions' retries when they are full.
 */
export function concurrencyPlan(rateLimitPerMinute: number, concurrency: number, headroom: number): ConcurrencyPlan {
  const share = rateLimitPerMinute * (1 - headroom);
  const job = Math.max(1, Math.ceil(share / REQUESTS_PER_MINUTE_PER_STREAM));
  const commandStreams = Math.max(2, Math.ceil(share / (concurrency * REQUESTS_PER_MINUTE_PER_STREAM)));
  const queue = MIN_QUEUE_CONCURRENCY;
  return { queue, job, synchronous: commandStreams, reserved: commandStreams, workflow: commandStreams, jobFunction: job + JOB_STEP_SLOTS };
}
