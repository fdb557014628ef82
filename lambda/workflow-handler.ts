// The workflow function's entry: the bulk-update workflow's own tasks (Submit, CheckStatus,
// Resubmit), told apart by the client context the state machine invokes with. Anything else is
// refused: this function answers the workflow alone.

import { createEntry } from "./composition/entry-pipeline.ts";
import { validationErrorOf } from "./contract/errors.ts";
import { resultOrThrow, type TriggerAdapter } from "./events/adapter.ts";
import { workflowAdapter, workflowOutcomeAdapter, workflowResubmitAdapter } from "./events/workflow.ts";

const notAWorkflowTask: TriggerAdapter = {
  trigger: "unknown",
  matches: () => true,
  accepts: [],
  toRequest() {
    throw validationErrorOf([{ path: "", message: "this function answers the bulk-update workflow's own tasks only" }]);
  },
  ...resultOrThrow,
};

export const handler = createEntry([workflowAdapter, workflowOutcomeAdapter, workflowResubmitAdapter], notAWorkflowTask);
