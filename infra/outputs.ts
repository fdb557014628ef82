// The stack's outputs: where each entry point and each place an operator looks is, under stable names
// (the deploy guide reads them; a test holds the guide to them).
import { CfnOutput, type Stack } from "aws-cdk-lib";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { type BulkUpdateApi, callerSuffix } from "./api.ts";
import type { BulkUpdateJob } from "./job.ts";
import type { KustomerApiKey } from "./kustomer-api-key.ts";
import type { Monitoring } from "./monitoring.ts";
import type { ServiceFunction } from "./service-function.ts";

export interface OutputsProps {
  api: BulkUpdateApi;
  bus: IEventBus;
  workflow: StateMachine;
  kustomerKey: KustomerApiKey;
  deadLetterQueue: Queue;
  failedDeliveriesQueue: Queue;
  burstQueue: Queue;
  job: BulkUpdateJob;
  monitoring: Monitoring;
  fn: ServiceFunction;
}

export function addOutputs(stack: Stack, props: OutputsProps): void {
  const { api, bus, workflow, kustomerKey, deadLetterQueue, failedDeliveriesQueue, burstQueue, job, monitoring, fn } = props;
  // RestApi adds an "Endpoint" output of its own; ApiUrl below replaces it under a stable name.
  api.node.tryRemoveChild("Endpoint");
  new CfnOutput(stack, "ApiUrl", { value: api.url, description: "Base URL: PUT customers/bulk, GET bulk/{bulkId} (SigV4-signed)" });
  new CfnOutput(stack, "EventBusName", { value: bus.eventBusName });
  new CfnOutput(stack, "StateMachineArn", { value: workflow.stateMachineArn });
  for (const [caller, key] of api.apiKeys) {
    new CfnOutput(stack, `ApiKeyId${callerSuffix(caller)}`, {
      value: key.keyId,
      description: `${caller}'s key: aws apigateway get-api-key --include-value --api-key <this>: send its value as x-api-key`,
    });
  }
  new CfnOutput(stack, "SecretName", {
    value: kustomerKey.secretName,
    description: 'Put the key in: aws secretsmanager put-secret-value --secret-id <this> --secret-string \'{"apiKey":"<key>"}\'',
  });
  new CfnOutput(stack, "DeadLetterQueueUrl", {
    value: deadLetterQueue.queueUrl,
    description: "Queued commands that failed 5 receives: redrive them to the burst queue",
  });
  new CfnOutput(stack, "FailedDeliveriesQueueUrl", {
    value: failedDeliveriesQueue.queueUrl,
    description: "Refused commands, failed async invocations and rule deliveries: read each before acting",
  });
  new CfnOutput(stack, "JobBucketName", {
    value: job.bucket.bucketName,
    description: "Put a JSON Lines file of customer updates under jobs/ to run it",
  });
  new CfnOutput(stack, "JobStateMachineArn", { value: job.stateMachine.stateMachineArn });
  new CfnOutput(stack, "BurstQueueUrl", {
    value: burstQueue.queueUrl,
    description: "Commands sent here are applied as the rate limit allows",
  });
  new CfnOutput(stack, "DashboardName", { value: monitoring.dashboard.dashboardName });
  new CfnOutput(stack, "FunctionLogGroupName", { value: fn.logGroup.logGroupName });
  new CfnOutput(stack, "AlarmTopicArn", {
    value: monitoring.topic.topicArn,
    description: "Subscribe to be told when an alarm fires",
  });
}
