// The HTTP API, once: the stack's REST API resources, the HTTP adapter's query parameters and the
// local gateway's routing and timeout all come from here, so the local API cannot drift from the
// deployed one. Each object (objects/registry.ts) has its PUT route; bulk ids are read on one route
// whatever their object.

import type { KustomerObject } from "./objects/kustomer-object.ts";
import { OBJECTS } from "./objects/registry.ts";

/** API Gateway ends an integration after 29 seconds, whatever the function's own timeout. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;

/** The REST API's one stage: the path prefix of its URL. */
export const API_STAGE = "v1";

export interface HttpRoute {
  method: "GET" | "PUT";
  /** API Gateway's resource path, with `{name}` for a path parameter. */
  resource: string;
  /** The query parameters the route takes; any other is refused. */
  query: readonly string[];
  /** The object a PUT route updates. */
  object?: KustomerObject;
}

export const HTTP_ROUTES: readonly HttpRoute[] = [
  ...OBJECTS.map((object) => ({ method: "PUT" as const, resource: object.route, query: ["ids", "dryRun", "fullResync"], object })),
  { method: "GET", resource: "/bulk/{bulkId}", query: [] },
];

/** The route a method and path take, with the path parameters it binds; undefined where none does. */
export function matchRoute(method: string, path: string): { route: HttpRoute; pathParameters: Record<string, string> } | undefined {
  const segments = path.replace(/\/+$/, "").split("/");
  for (const route of HTTP_ROUTES) {
    const pattern = route.resource.split("/");
    if (route.method !== method || pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = pattern.every((part, index) => {
      const segment = segments[index] as string;
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (!name) return part === segment;
      if (!segment) return false;
      pathParameters[name] = decodePathSegment(segment);
      return true;
    });
    if (matches) return { route, pathParameters };
  }
  return undefined;
}

/** A path segment as API Gateway hands it to the function: decoded, or as it is if it cannot be. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
