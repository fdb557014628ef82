// A state machine with the house defaults: X-Ray, every state logged but never the execution data
// (which holds customers' personal fields), and a week at most per execution.
import { Duration, Validations } from "aws-cdk-lib";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { CustomerManagedEncryptionConfiguration, DefinitionBody, LogLevel, StateMachine, type IChainable } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import type { DataKey } from "./data-key.ts";

/** Execution data (commands, customers' fields) and the logs are encrypted with the stack's data key. */
export function createStateMachine(scope: Construct, definition: IChainable, dataKey: DataKey): StateMachine {
  const stateMachine = new StateMachine(scope, "StateMachine", {
    definitionBody: DefinitionBody.fromChainable(definition),
    tracingEnabled: true,
    timeout: Duration.days(7),
    encryptionConfiguration: new CustomerManagedEncryptionConfiguration(dataKey.key),
    logs: {
      destination: new LogGroup(scope, "Logs", { retention: RetentionDays.THREE_MONTHS, encryptionKey: dataKey.key }),
      level: LogLevel.ALL,
      includeExecutionData: false,
    },
  });
  Validations.of(stateMachine).acknowledge({
    id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason: "X-Ray tracing and CloudWatch Logs delivery actions, added by CDK for tracing and logging: these APIs have no resource-level permissions.",
  });
  // The key policy must name the role: an IAM grant alone does not reach this key.
  dataKey.allow(`${scope.node.id}StateMachine`, stateMachine.role);
  return stateMachine;
}
