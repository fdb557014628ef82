// Step Functions Distributed Map with an ItemBatcher: each child invocation gets `{ Items: [...] }`,
// the customer updates of one batch (one JSON Lines row each). Each is checked on its own: the valid
// ones are submitted as one command, and an invalid one fails alone (CONTRACT §7).
import { isObject, resultOrThrow, type TriggerAdapter } from "./adapter.ts";

export const mapBatchAdapter: TriggerAdapter = {
  trigger: "distributed-map",
  matches: (event) => isObject(event) && Array.isArray(event.Items) && !("body" in event),
  accepts: ["batch"],
  toRequest: (event) => ({ action: "batch", items: (event as { Items: unknown[] }).Items }),
  ...resultOrThrow,
};
