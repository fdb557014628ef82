// The command bus: the rule that takes "Customer Bulk Update Requested" events from the listed sources
// into the burst queue, the queue's policy that lets only the rule and the listed roles send commands,
// and the bus policy that lets only producers put a request source and only the service put its
// outcomes (CONTRACT §0.1). In the stack's own scope, so every resource keeps its logical id.
import type { Stack } from "aws-cdk-lib";
import { Duration } from "aws-cdk-lib";
import { CfnEventBusPolicy, EventBus, type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { Effect, PolicyStatement, StarPrincipal } from "aws-cdk-lib/aws-iam";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { OUTCOME_SOURCE } from "../lambda/contract/names.ts";
import { OBJECTS } from "../lambda/contract/objects/registry.ts";
import { EVENT_DELIVERY_RETRIES } from "../lambda/contract/retry-policy.ts";
import type { StackSettings } from "./settings.ts";

export interface CommandBusProps {
  settings: StackSettings;
  burstQueue: Queue;
  failedDeliveriesQueue: Queue;
}

export interface BusGuardProps {
  settings: StackSettings;
  bus: IEventBus;
  /** The state machines that put the outcome events. */
  workflow: StateMachine;
  job: StateMachine;
}

export function createCommandBus(stack: Stack, { settings, burstQueue, failedDeliveriesQueue }: CommandBusProps): IEventBus {
  const bus =
    settings.eventBusName === "default"
      ? EventBus.fromEventBusName(stack, "Bus", "default")
      : new EventBus(stack, "Bus", { eventBusName: settings.eventBusName ?? "kustomer-bulk-update" });
  // Events are buffered in the queue, whole: the event's id names the workflow run, so a redelivered
  // event starts nothing new. Only the listed sources may request writes (producers need
  // events:PutEvents with that source); the outcome events' own source is never one of them.
  const rule = new Rule(stack, "BulkUpdateRequested", {
    eventBus: bus,
    eventPattern: { source: settings.eventSources, detailType: OBJECTS.map((object) => object.detailType) },
    targets: [
      new SqsQueue(burstQueue, {
        deadLetterQueue: failedDeliveriesQueue,
        maxEventAge: Duration.hours(24),
        retryAttempts: EVENT_DELIVERY_RETRIES,
      }),
    ],
  });
  // The operator redrives the dead-letter queue into the burst queue: its move task sends as the operator.
  acceptCommandsOnlyFrom(burstQueue, rule, [...settings.producerRoleArns, ...(settings.operatorRoleArn ? [settings.operatorRoleArn] : [])]);
  return bus;
}

/**
 * The bus carries orders to write to the CRM and the service's own outcomes: a request source may be
 * put only by the listed producers (none listed: nobody, as for job files), and the outcome source
 * only by the workflow and the job state machines. `events:source` holds every entry's source, so
 * `ForAnyValue` denies a batch that mixes in one. On the default bus the same two statements are
 * added to its policy: they name only this service's sources.
 */
export function guardTheBus(stack: Stack, { settings, bus, workflow, job }: BusGuardProps): void {
  const sources = [
    { sid: "RequestsOnlyFromProducers", values: settings.eventSources, allowed: settings.producerRoleArns },
    {
      sid: "OutcomesOnlyFromTheService",
      values: [OUTCOME_SOURCE],
      allowed: [workflow.role.roleArn, job.role.roleArn],
    },
  ];
  // And from the other side: the state machines' roles may put nothing but the outcome source, on any bus.
  for (const machine of [workflow, job]) {
    machine.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "OnlyTheOutcomeSource",
        effect: Effect.DENY,
        actions: ["events:PutEvents"],
        resources: ["*"],
        conditions: { "ForAnyValue:StringNotEquals": { "events:source": [OUTCOME_SOURCE] } },
      }),
    );
  }
  for (const { sid, values, allowed } of sources) {
    new CfnEventBusPolicy(stack, `Bus${sid}`, {
      eventBusName: bus.eventBusName,
      statementId: `${stack.stackName}-${sid}`.slice(0, 64),
      statement: {
        Sid: sid,
        Effect: "Deny",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: bus.eventBusArn,
        Condition: {
          "ForAnyValue:StringEquals": { "events:source": values },
          ...(allowed.length ? { ArnNotEquals: { "aws:PrincipalArn": allowed } } : {}),
        },
      },
    });
  }
}

/** Commands in the burst queue become CRM writes: only the request rule and the listed roles may send them. */
function acceptCommandsOnlyFrom(burstQueue: Queue, rule: Rule, senderRoleArns: string[]): void {
  burstQueue.addToResourcePolicy(
    new PolicyStatement({
      sid: "CommandsFromTheRuleAndProducersOnly",
      effect: Effect.DENY,
      principals: [new StarPrincipal()],
      actions: ["sqs:SendMessage"],
      resources: [burstQueue.queueArn],
      conditions: {
        ArnNotEquals: { "aws:SourceArn": rule.ruleArn, ...(senderRoleArns.length ? { "aws:PrincipalArn": senderRoleArns } : {}) },
      },
    }),
  );
}
