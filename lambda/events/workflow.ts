// The bulk-update workflow's own tasks (infra/workflow.ts), told apart by the client context the
// workflow invokes with: Submit, CheckStatus and Resubmit. What each answers is in
// workflow-answers.ts.
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import { MAX_WORKFLOW_COMMAND_BYTES, tooLargeForWorkflow } from "../adapters/aws/workflow-starter.ts";
import { validationErrorOf } from "../contract/errors.ts";
import { OUTCOME_TASK, RESUBMIT_TASK, WORKFLOW_CALLER } from "../contract/names.ts";
import { sentSchema, settledSchema } from "../contract/requests.ts";
import { correlationKey, isObject, type TriggerAdapter } from "./adapter.ts";
import { toAnswer, toFailure, type WorkflowAnswer } from "./workflow-answers.ts";

/** What the workflow's Resubmit task sends: the command, the attempt, and what earlier attempts settled. */
const resubmissionSchema = z.object({
  command: z.unknown(),
  attempt: z.int().check(z.gte(1)),
  settled: settledSchema,
  sent: z.optional(sentSchema),
});
type Resubmission = z.infer<typeof resubmissionSchema>;

const isWorkflowTask = (context?: Context) => context?.clientContext?.custom?.caller === WORKFLOW_CALLER;

const taskOf = (context?: Context): unknown => context?.clientContext?.custom?.task;

/** Submit: the payload is the command, the execution's input. */
export const workflowAdapter: TriggerAdapter<WorkflowAnswer> = {
  trigger: "workflow",
  matches: (_event, context?: Context) => isWorkflowTask(context) && taskOf(context) === undefined,
  accepts: ["command"],
  toRequest(event) {
    // Refused here, not in Resubmit: a resubmission adds to the command, within Step Functions' 256 KiB.
    const bytes = Buffer.byteLength(JSON.stringify(event) ?? "");
    if (bytes > MAX_WORKFLOW_COMMAND_BYTES) throw tooLargeForWorkflow(bytes);
    return event;
  },
  idempotencyKey: correlationKey,
  toResponse: toAnswer,
  onError: (failure, call) => toFailure(failure, call),
};

/** CheckStatus: the outcome question. */
export const workflowOutcomeAdapter: TriggerAdapter<WorkflowAnswer> = {
  trigger: "workflow",
  matches: (_event, context?: Context) => isWorkflowTask(context) && taskOf(context) === OUTCOME_TASK,
  accepts: ["outcome"],
  toRequest: (event) => event,
  toResponse: toAnswer,
  // A status read that failed is read again: the next read must still know what this one was told.
  onError: async (failure, call) => ({
    ...(await toFailure(failure, call)),
    seen: isObject(call.event) && Array.isArray(call.event.seen) ? call.event.seen : [],
  }),
};

/** Resubmit: the command again, sending only what earlier attempts left unsent or unanswered (CONTRACT §2.6). */
export const workflowResubmitAdapter: TriggerAdapter<WorkflowAnswer> = {
  trigger: "workflow",
  matches: (_event, context?: Context) => isWorkflowTask(context) && taskOf(context) === RESUBMIT_TASK,
  accepts: ["command"],
  toRequest: (event) => resubmissionOf(event).command,
  settledOf: (event) => resubmissionOf(event).settled,
  sentOf: (event) => resubmissionOf(event).sent,
  // While nothing is settled the resubmission is the command itself, under the command's own key: a
  // first delivery still in flight, or already answered, is found there rather than sent again. Once
  // something is settled, each attempt sends less, and is a delivery of its own.
  idempotencyKey(event) {
    const { command, attempt, settled } = resubmissionOf(event);
    const key = correlationKey(command);
    const nothingSettled = settled.accepted.length === 0 && settled.unanswered.length === 0;
    return key && (nothingSettled ? key : `${key}#resubmit-${attempt}`);
  },
  toResponse: toAnswer,
  onError(failure, call) {
    const parsed = resubmissionSchema.safeParse(call.event);
    return parsed.success
      ? toFailure(failure, { ...call, event: parsed.data.command }, parsed.data.settled, parsed.data.sent)
      : toFailure(failure, call);
  },
};

function resubmissionOf(event: unknown): Resubmission {
  const parsed = resubmissionSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  throw validationErrorOf(parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })));
}
