// Direct invocation and Step Functions tasks: the payload is the request itself; errors are thrown
// so that `Retry` and `Catch` can match on their names.
import { validationErrorOf } from "../contract/errors.ts";
import { correlationKey, isObject, resultOrThrow, type TriggerAdapter } from "./adapter.ts";

export const directAdapter: TriggerAdapter = {
  trigger: "direct",
  matches: isObject,
  accepts: ["command", "status"],
  toRequest(event) {
    if (isObject(event) && Array.isArray(event.Records)) {
      throw validationErrorOf([{ path: "Records", message: "this event source is not supported; send the command itself" }]);
    }
    return event;
  },
  idempotencyKey: correlationKey,
  ...resultOrThrow,
};
