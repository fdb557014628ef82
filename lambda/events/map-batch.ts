// Step Functions Distributed Map with an ItemBatcher: each child invocation gets `{ Items: [...] }`,
// the customer updates of one batch (one JSON Lines row each). They are submitted as one command.
import { isObject, resultOrThrow, type TriggerAdapter } from "./adapter.ts";

export const mapBatchAdapter: TriggerAdapter = {
  trigger: "distributed-map",
  matches: (event) => isObject(event) && Array.isArray(event.Items) && !("body" in event),
  toRequest: (event) => ({ body: (event as { Items: unknown[] }).Items }),
  ...resultOrThrow,
};
