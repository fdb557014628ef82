// The stack's settings, from CDK context (`-c name=value` or cdk.json), checked like the function's
// own configuration so a typo fails the synth instead of the deployment.
import * as z from "zod";

const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]);

const settingsSchema = z
  .object({
    kustomerSecretName: z.string().min(1).optional(),
    kustomerSecretArn: z.string().startsWith("arn:").optional(),
    kustomerKmsKeyArn: z.string().startsWith("arn:").optional(),
    kustomerBaseUrl: z.url({ protocol: /^https$/ }).default("https://api.kustomerapp.com"),
    kustomerRateLimitPerMinute: z.coerce.number().int().min(60).max(100_000).default(1000),
    kustomerConcurrency: z.coerce.number().int().min(1).max(16).default(4),
    eventBusName: z.string().min(1).optional(),
    apiKeyAuth: flag.default(false),
    corsAllowOrigins: z
      .string()
      .transform((value) => value.split(",").map((origin) => origin.trim()).filter(Boolean))
      .optional(),
    alarmEmail: z.email().optional(),
    statusPollSeconds: z.coerce.number().int().min(5).max(3600).default(30),
    jobToleratedFailurePercent: z.coerce.number().min(0).max(100).default(10),
  })
  .refine((settings) => !(settings.kustomerSecretName && settings.kustomerSecretArn), {
    message: "give kustomerSecretName or kustomerSecretArn, not both",
  });

export type StackSettings = z.infer<typeof settingsSchema>;
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as Array<keyof StackSettings>;

export function readSettings(context: (name: string) => unknown): StackSettings {
  const raw = Object.fromEntries(SETTING_NAMES.map((name) => [name, context(name)]).filter(([, value]) => value !== undefined));
  const parsed = settingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "context"}: ${issue.message}`);
  throw new Error(`invalid CDK context: ${problems.join("; ")}`);
}

/** One bulk request in flight, at a 200 ms round trip (a fast one), sends at most 300 a minute. */
export const REQUESTS_PER_MINUTE_PER_STREAM = 300;

/**
 * Each invocation keeps up to `concurrency` Kustomer requests in flight; this many concurrent
 * invocations therefore stay within the org's budget (and the client still honours 429s for the rest).
 */
export function reservedConcurrencyFor(rateLimitPerMinute: number, concurrency: number): number {
  // Two is the least an SQS event source mapping can run with; the client rides out any 429 beyond.
  return Math.max(2, Math.floor(rateLimitPerMinute / (concurrency * REQUESTS_PER_MINUTE_PER_STREAM)));
}
