// EventBridge: the command is the event's `detail`; failures are thrown so the rule's retry policy
// and dead-letter queue keep the event.
import type { EventBridgeEvent } from "aws-lambda";
import { commandOfEvent, isObject, resultOrThrow, type TriggerAdapter } from "./adapter.ts";

export const eventBridgeAdapter: TriggerAdapter = {
  trigger: "eventbridge",
  matches: (event) => isObject(event) && typeof event["detail-type"] === "string" && typeof event.source === "string" && "detail" in event,
  accepts: ["command"],
  toRequest(event) {
    const { "detail-type": detailType, detail } = event as EventBridgeEvent<string, unknown>;
    return commandOfEvent(detailType, detail);
  },
  // EventBridge delivers at least once, each time with the event's own id; a key is its source's own
  // (the bus policy lets only the producers put request sources).
  idempotencyKey: (event) => {
    const { source, id } = event as EventBridgeEvent<string, unknown>;
    return `event:${source}:${id}`;
  },
  ...resultOrThrow,
};
