// Which deployed function a trigger reaches, as the stack wires them: an SQS batch the queue's
// consumer, a workflow task (by its client context) the workflow's function, anything else the
// bulk-update function. The local tools and the tests route events with it.
import type { Context } from "aws-lambda";
import { WORKFLOW_CALLER } from "../lambda/contract/names.ts";
import { isSqsEvent } from "../lambda/events/sqs.ts";

type Handler = (event: unknown, context?: Context) => Promise<unknown>;

export function routeAsTheStack(entries: { service: Handler; workflow: Handler; queue: Handler }): Handler {
  return (event, context) => {
    if (isSqsEvent(event)) return entries.queue(event, context);
    if (context?.clientContext?.custom?.caller === WORKFLOW_CALLER) return entries.workflow(event, context);
    return entries.service(event, context);
  };
}
