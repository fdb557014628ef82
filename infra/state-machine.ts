// A state machine with the house defaults: X-Ray, every state logged but never the execution data
// (which holds customers' personal fields), and a week at most per execution.
import { Duration, Validations } from "aws-cdk-lib";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  CustomerManagedEncryptionConfiguration,
  DefinitionBody,
  type IChainable,
  JitterType,
  LogLevel,
  type RetryProps,
  StateMachine,
} from "aws-cdk-lib/aws-stepfunctions";
import type { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";

/** Errors worth another try soon: the contract's retryable names and Lambda's own transient faults. */
export const RETRYABLE_ERRORS = [
  "KustomerRateLimitError",
  "KustomerUnavailableError",
  "SecretUnavailableError",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.ClientExecutionTimeoutException",
];

export const TASK_RETRY: RetryProps = {
  errors: RETRYABLE_ERRORS,
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: TASK_RETRIES,
  jitterStrategy: JitterType.FULL,
};

/**
 * The function's reserved slots are full: waiting here is the buffer that keeps a burst from failing.
 * 5 s doubling to 5 minutes, with full jitter: up to about three hours in all.
 */
export const THROTTLE_RETRY: RetryProps = {
  errors: ["Lambda.TooManyRequestsException"],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxDelay: Duration.minutes(5),
  maxAttempts: THROTTLE_RETRIES,
  jitterStrategy: JitterType.FULL,
};

/** Putting an outcome or job event on the bus: EventBridge's own faults, ridden out for about two minutes. */
export const ANNOUNCE_RETRY: RetryProps = {
  errors: ["States.ALL"],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  jitterStrategy: JitterType.FULL,
};

/** The retry policy of every task that invokes a function of this stack. */
export function withTaskRetries<T extends LambdaInvoke>(task: T): T {
  task.addRetry(THROTTLE_RETRY).addRetry(TASK_RETRY);
  return task;
}

import type { Construct } from "constructs";
import { TASK_RETRIES, THROTTLE_RETRIES } from "../lambda/contract/retry-policy.ts";
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
    reason:
      "X-Ray tracing and CloudWatch Logs delivery actions, added by CDK for tracing and logging: these APIs have no resource-level permissions.",
  });
  // The key policy must name the role: an IAM grant alone does not reach this key.
  dataKey.allow(`${scope.node.id}StateMachine`, stateMachine.role);
  return stateMachine;
}
