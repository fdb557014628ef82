// Who sent an HTTP request, as API Gateway or a function URL authenticated it (CONTRACT §2.4): the
// scope of the caller's bulk ids. IAM callers are their role (a refreshed session is the same caller)
// or user; API-key callers their key's id. Without either (npm start, no auth), one shared caller.
import { isObject } from "./adapter.ts";

/** The caller of a request that no authentication named. */
export const ANONYMOUS_CALLER = "anonymous";

/** `arn:aws:sts::123456789012:assumed-role/Role/session` is `…:assumed-role/Role` whatever the session. */
const ASSUMED_ROLE_SESSION = /^(arn:aws[\w-]*:sts::\d{12}:assumed-role\/[^/]+)\/.+$/;

export function callerOf(event: unknown): string {
  const context = isObject(event) && isObject(event.requestContext) ? event.requestContext : {};
  // REST APIs (payload 1.0) name IAM callers under `identity`, HTTP APIs and function URLs under `authorizer.iam`.
  const identity = isObject(context.identity) ? context.identity : {};
  const iam = isObject(context.authorizer) && isObject(context.authorizer.iam) ? context.authorizer.iam : {};
  const userArn = [identity.userArn, iam.userArn].find((value): value is string => typeof value === "string" && value.length > 0);
  if (userArn) return userArn.replace(ASSUMED_ROLE_SESSION, "$1");
  if (typeof identity.apiKeyId === "string" && identity.apiKeyId.length > 0) return `api-key:${identity.apiKeyId}`;
  return ANONYMOUS_CALLER;
}
