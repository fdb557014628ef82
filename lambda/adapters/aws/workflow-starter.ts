// The burst queue's commands are handed to the bulk-update workflow, each execution named for its
// delivery: Step Functions refuses a second execution of a name for 90 days, so a redelivered command
// starts nothing new. The client is loaded on the first command, not on every cold start.
import type { SFNClient } from "@aws-sdk/client-sfn";
import { ValidationError } from "../../contract/errors.ts";

/** Step Functions' limit for an execution's input, and for a task's. */
export const MAX_TASK_INPUT_BYTES = 256 * 1024;

/**
 * The largest command the workflow takes: 256 KiB less room for what a resubmission carries beside
 * the command (what earlier attempts settled: ~50 bytes a request), since a task's input past 256 KiB
 * fails the run where no Catch can see it. 10,000 `ids` fit. A larger command belongs in a job file.
 */
export const MAX_WORKFLOW_COMMAND_BYTES = 248 * 1024;

export function tooLargeForWorkflow(bytes: number): ValidationError {
  return new ValidationError(`the command is ${bytes} bytes; a workflow takes at most 248 KiB: send it as a job file instead`, {
    issues: [{ path: "", message: `is ${bytes} bytes; at most ${MAX_WORKFLOW_COMMAND_BYTES}` }],
    httpStatus: 413,
  });
}

export interface WorkflowStarter {
  /** "duplicate" when an execution of that name exists already: the delivery was started before. */
  start(name: string, input: string): Promise<"started" | "duplicate">;
}

export class StepFunctionsStarter implements WorkflowStarter {
  private client?: SFNClient;

  constructor(private readonly stateMachineArn: string) {}

  async start(name: string, input: string): Promise<"started" | "duplicate"> {
    const bytes = Buffer.byteLength(input);
    if (bytes > MAX_WORKFLOW_COMMAND_BYTES) throw tooLargeForWorkflow(bytes);
    const { SFNClient, StartExecutionCommand, ExecutionAlreadyExists, InvalidExecutionInput } = await import("@aws-sdk/client-sfn");
    this.client ??= new SFNClient({});
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input }));
      return "started";
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return "duplicate";
      // Step Functions' own message may quote the input, which holds personal data: its name only.
      if (error instanceof InvalidExecutionInput)
        throw new ValidationError("Step Functions refused the command as execution input (InvalidExecutionInput)", { cause: error });
      throw error;
    }
  }
}
