// The sandbox's injected faults: which request a rule matches, and how the fault answers it (a
// status and body, a hang, or a connection dropped before or part-way through the answer).
import type { IncomingHttpHeaders, ServerResponse } from "node:http";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type Fault =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { hang: true }
  /** The connection dropped before any answer, or (`midResponse`) after the headers and part of the body. */
  | { reset: true; midResponse?: boolean };

export interface FaultRule {
  method?: string;
  path?: RegExp;
  /** Only requests this accepts, e.g. the one carrying a given customer. */
  match?: (request: RecordedRequest) => boolean;
  /** How many matching requests get the fault; the default is one. */
  times?: number;
  fault: Fault;
}

export function matches(rule: FaultRule, request: RecordedRequest): boolean {
  return (
    (!rule.method || rule.method === request.method) && (!rule.path || rule.path.test(request.path)) && (!rule.match || rule.match(request))
  );
}

export function answerWith(fault: Fault, response: ServerResponse): void {
  if ("hang" in fault) return;
  if ("reset" in fault) {
    if (fault.midResponse) {
      response.writeHead(201, { "content-type": "application/json", "content-length": "200" });
      response.write('{"data":{"type":"bulk","id":');
      setTimeout(() => response.socket?.destroy(), 10);
    } else {
      response.socket?.destroy();
    }
    return;
  }
  const text =
    typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body ?? { errors: [{ code: "fault", title: "injected fault" }] });
  response.writeHead(fault.status, { "content-type": "application/json", ...fault.headers }).end(text);
}
