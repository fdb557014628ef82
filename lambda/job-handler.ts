// The Lambda entry of a large job's steps (lambda/job/steps.ts), run in order by the job state machine
// (infra/job.ts) over the job bucket: plan, lines (a Distributed Map child), collect (from the map's
// ResultWriter files), follow (repeated until every operation is settled), report.
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import { deadlineOf, servicesFor } from "./composition/services.ts";
import { validationErrorOf } from "./contract/errors.ts";
import { issuesOf } from "./contract/issues.ts";
import { FULL_RESYNC_PREFIX } from "./contract/names.ts";
import { objectOfJobKey } from "./contract/objects/registry.ts";
import { JobBucket } from "./job/bucket.ts";
import { follow } from "./job/follow.ts";
import { report } from "./job/report.ts";
import { resultWriterResults } from "./job/result-writer.ts";
import { collect, lines, plan } from "./job/steps.ts";
import { inInvocation, logger, publishMetrics } from "./platform/observability.ts";
import "./contract/zod-messages.ts";

const name = z.string().check(z.minLength(1), z.maxLength(1024));
const atLeast = (minimum: number) => z.int().check(z.gte(minimum));
const range = { first: atLeast(1), last: atLeast(1), start: atLeast(0), end: atLeast(1), count: atLeast(1) };
/** The Start state sets false; a Catch puts its error there. */
const failure = z.union([z.literal(false), z.object({ Error: z.string(), Cause: z.optional(z.string()) })]);

const stepSchema = z.discriminatedUnion("step", [
  z.strictObject({ step: z.literal("plan"), bucket: name, key: name, run: name }),
  z.strictObject({
    step: z.literal("lines"),
    bucket: name,
    key: name,
    run: name,
    ...range,
    version: z.optional(z.string().check(z.maxLength(1024))),
    duplicates: z.optional(z.array(z.tuple([atLeast(1), atLeast(1)]))),
    changes: z.optional(
      z.array(z.union([z.tuple([atLeast(1)]), z.tuple([atLeast(1), z.array(z.string().check(z.minLength(1), z.maxLength(1_000)))])])),
    ),
  }),
  z.strictObject({
    step: z.literal("collect"),
    bucket: name,
    run: name,
    mapResultsPrefix: name,
    mapFailed: failure,
  }),
  // `key` names the job file's object; an execution started before it was passed follows customers.
  z.strictObject({ step: z.literal("follow"), bucket: name, key: z.optional(name), run: name }),
  z.strictObject({
    step: z.literal("report"),
    bucket: name,
    key: name,
    run: name,
    statusTimeoutMinutes: atLeast(1),
    followFailed: z.optional(failure),
  }),
]);

/** Time the follow step spends reading status before it hands back to the state machine's wait. */
const FOLLOW_BUDGET_MS = 60_000;

export function handler(event: unknown, context?: Context): Promise<unknown> {
  return inInvocation(() => handle(event, context));
}

async function handle(event: unknown, context?: Context): Promise<unknown> {
  const started = Date.now();
  logger.resetKeys();
  if (context) logger.addContext(context);
  const parsed = stepSchema.safeParse(event);
  if (!parsed.success) throw validationErrorOf(issuesOf(parsed.error));
  const step = parsed.data;
  logger.appendKeys({ trigger: "job", step: step.step, run: step.run });
  const store = new JobBucket(step.bucket);
  try {
    switch (step.step) {
      case "plan": {
        const services = servicesFor(process.env);
        const deadlineAt = deadlineOf(context, started);
        return await plan(
          store,
          step.key,
          step.run,
          services.changes && {
            ledger: services.changes,
            fullResync: step.key.startsWith(FULL_RESYNC_PREFIX),
            deadlineAt,
            log: logger,
            counters: services.counters,
          },
        );
      }
      case "lines":
        return await lines(store, step, servicesFor(process.env), deadlineOf(context, started));
      case "collect":
        return await collect(store, step.run, resultWriterResults(store, `${step.mapResultsPrefix}/`), step.mapFailed || undefined);
      case "follow": {
        const services = servicesFor(process.env);
        const changes = services.changes?.of(objectOfJobKey(step.key ?? ""));
        return await follow(store, step.run, { ...services, changes, deadlineAt: deadlineOf(context, started) }, FOLLOW_BUDGET_MS);
      }
      case "report": {
        const summary = await report(store, step.key, step.run, step.statusTimeoutMinutes, step.followFailed || undefined);
        const { lines: count, applied, failed, inDoubt, unsent, unchanged } = summary;
        logger.info("job report written", { lines: count, applied, failed, inDoubt, unsent, unchanged });
        return summary;
      }
    }
  } finally {
    publishMetrics();
  }
}
