// The burst queue's commands are handed to the bulk-update workflow, each execution named for its
// delivery: Step Functions refuses a second execution of a name for 90 days, so a redelivered command
// starts nothing new. The client is loaded on the first command, not on every cold start.
import type { SFNClient } from "@aws-sdk/client-sfn";
import { ValidationError } from "./errors.ts";

/** StartExecution's limit for the input; a larger command belongs in a job file. */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

export interface WorkflowStarter {
  /** "duplicate" when an execution of that name exists already: the delivery was started before. */
  start(name: string, input: string): Promise<"started" | "duplicate">;
}

export class StepFunctionsStarter implements WorkflowStarter {
  private client?: SFNClient;

  constructor(private readonly stateMachineArn: string) {}

  async start(name: string, input: string): Promise<"started" | "duplicate"> {
    const bytes = Buffer.byteLength(input);
    if (bytes > MAX_EXECUTION_INPUT_BYTES) {
      throw new ValidationError(`the command is ${bytes} bytes; a workflow takes at most 256 KiB: send it as a job file instead`, {
        issues: [{ path: "", message: `is ${bytes} bytes; at most ${MAX_EXECUTION_INPUT_BYTES}` }],
      });
    }
    const { SFNClient, StartExecutionCommand, ExecutionAlreadyExists, InvalidExecutionInput } = await import("@aws-sdk/client-sfn");
    this.client ??= new SFNClient({});
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input }));
      return "started";
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return "duplicate";
      // Step Functions' own message may quote the input, which holds personal data: its name only.
      if (error instanceof InvalidExecutionInput) throw new ValidationError("Step Functions refused the command as execution input (InvalidExecutionInput)", { cause: error });
      throw error;
    }
  }
}
