// A local Step Functions endpoint speaking its JSON protocol (StartExecution), reached by the real SFN
// client through AWS_ENDPOINT_URL_SFN. Names are unique per state machine, as on AWS: a second start of
// a name is ExecutionAlreadyExists. Each started execution may be run here (`onStart`).
import { type Served, serve } from "./serve.ts";

export interface StartedExecution {
  stateMachineArn: string;
  name: string;
  input: string;
}

export class LocalStepFunctions {
  readonly started: StartedExecution[] = [];
  /** Answer the next StartExecution calls with a throttling error. */
  throttles = 0;
  onStart?: (execution: StartedExecution) => void;
  private served?: Served;

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const reply = (status: number, answer: unknown) =>
        response.writeHead(status, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify(answer));
      if (request.headers["x-amz-target"] !== "AWSStepFunctions.StartExecution")
        return reply(400, { __type: "UnsupportedOperation", message: "only StartExecution" });
      if (this.throttles > 0) {
        this.throttles -= 1;
        return reply(400, { __type: "ThrottlingException", message: "Rate exceeded" });
      }
      const execution = JSON.parse(body.toString("utf8")) as StartedExecution;
      try {
        JSON.parse(execution.input);
      } catch {
        return reply(400, { __type: "InvalidExecutionInput", message: "Invalid State Machine Execution Input" });
      }
      const arn = `${execution.stateMachineArn.replace(":stateMachine:", ":execution:")}:${execution.name}`;
      if (this.started.some((earlier) => earlier.stateMachineArn === execution.stateMachineArn && earlier.name === execution.name)) {
        return reply(400, { __type: "ExecutionAlreadyExists", message: `Execution Already Exists: '${arn}'` });
      }
      this.started.push(execution);
      this.onStart?.(execution);
      reply(200, { executionArn: arn, startDate: Date.now() / 1000 });
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
