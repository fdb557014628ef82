// A state machine with the house defaults: X-Ray, every state logged but never the execution data
// (which holds customers' personal fields), and a week at most per execution.
import { Duration, Validations } from "aws-cdk-lib";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, type IChainable } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";

export function createStateMachine(scope: Construct, definition: IChainable): StateMachine {
  const stateMachine = new StateMachine(scope, "StateMachine", {
    definitionBody: DefinitionBody.fromChainable(definition),
    tracingEnabled: true,
    timeout: Duration.days(7),
    logs: {
      destination: new LogGroup(scope, "Logs", { retention: RetentionDays.THREE_MONTHS }),
      level: LogLevel.ALL,
      includeExecutionData: false,
    },
  });
  Validations.of(stateMachine).acknowledge({
    id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason: "X-Ray tracing and CloudWatch Logs delivery actions, added by CDK for tracing and logging: these APIs have no resource-level permissions.",
  });
  return stateMachine;
}
