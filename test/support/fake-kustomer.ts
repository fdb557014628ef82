// A real HTTP server that behaves like Kustomer's bulk endpoints, records every request, and can be
// told to misbehave (status codes, headers, bodies, hangs, connection resets) for the next requests.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

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
  | { reset: true };

export interface FaultRule {
  method?: string;
  path?: RegExp;
  /** How many matching requests get the fault; the default is one. */
  times?: number;
  fault: Fault;
}

interface BulkOperation {
  id: string;
  polls: number;
  customerIds: string[];
  clientRefs: Array<string | undefined>;
}

export class FakeKustomer {
  readonly requests: RecordedRequest[] = [];
  readonly apiKeys = new Set<string>();
  /** Customers whose update Kustomer will report as failed in the batch results. */
  readonly failingCustomerIds = new Set<string>();
  private readonly rules: Array<FaultRule & { left: number }> = [];
  private readonly operations = new Map<string, BulkOperation>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;

  constructor(apiKey: string) {
    this.apiKeys.add(apiKey);
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => this.handle(request.method ?? "GET", request.url ?? "/", request.headers, Buffer.concat(chunks), response));
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Forgets recorded requests and pending faults, for the next test. */
  reset(): void {
    this.requests.length = 0;
    this.rules.length = 0;
    this.failingCustomerIds.clear();
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Requests to the bulk-update endpoint only. */
  get bulkPuts(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === "PUT" && request.path === "/v1/customers/bulk");
  }

  private handle(method: string, rawUrl: string, headers: IncomingHttpHeaders, raw: Buffer, response: ServerResponse): void {
    const url = new URL(rawUrl, "http://kustomer.test");
    let body: unknown;
    try {
      body = raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      body = raw.toString("utf8");
    }
    this.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body });

    const rule = this.rules.find((candidate) => candidate.left > 0 && (!candidate.method || candidate.method === method) && (!candidate.path || candidate.path.test(url.pathname)));
    if (rule) {
      rule.left -= 1;
      const { fault } = rule;
      if ("hang" in fault) return;
      if ("reset" in fault) {
        response.socket?.destroy();
        return;
      }
      const text = typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body ?? { errors: [{ code: "fault", title: "injected fault" }] });
      response.writeHead(fault.status, { "content-type": "application/json", ...fault.headers }).end(text);
      return;
    }

    const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    if (!token || !this.apiKeys.has(token)) {
      return this.reply(response, 401, { errors: [{ status: 401, code: "unauthorized", title: "Unauthorized" }] });
    }
    if (method === "PUT" && url.pathname === "/v1/customers/bulk") return this.bulkUpdate(url, body, response);
    const status = /^\/v1\/bulk\/([^/]+)(\/batches)?$/.exec(url.pathname);
    const operation = status && this.operations.get(status[1] as string);
    if (method === "GET" && operation) {
      return status[2] ? this.batches(operation, response) : this.bulkStatus(operation, response);
    }
    this.reply(response, 404, { errors: [{ status: 404, code: "not_found", title: "Not Found" }] });
  }

  private bulkUpdate(url: URL, body: unknown, response: ServerResponse): void {
    if (!Array.isArray(body) || body.length === 0 || body.length > 100) {
      return this.reply(response, 400, { errors: [{ status: 400, code: "bad_request", title: "body must be an array of 1 to 100 customers" }] });
    }
    const ids = url.searchParams.get("ids");
    const items = body as Array<{ id: string; _clientRef?: string }>;
    const operation: BulkOperation = {
      id: randomBytes(12).toString("hex"),
      polls: 0,
      customerIds: ids ? ids.split(",") : items.map((item) => item.id),
      clientRefs: ids ? [] : items.map((item) => item._clientRef),
    };
    this.operations.set(operation.id, operation);
    this.reply(response, 201, {
      data: { type: "bulk", id: operation.id, attributes: { status: "queued", ids: operation.customerIds, v2: true, completed: false } },
    });
  }

  /** Each poll moves the operation one step: queued, running, complete. */
  private bulkStatus(operation: BulkOperation, response: ServerResponse): void {
    const status = (["queued", "running", "complete"] as const)[Math.min(operation.polls, 2)];
    operation.polls += 1;
    this.reply(response, 200, {
      data: { type: "bulk", id: operation.id, attributes: { status, batches: { complete: status === "complete" ? 1 : 0, total: 1 } } },
    });
  }

  private batches(operation: BulkOperation, response: ServerResponse): void {
    const results = operation.customerIds.map((id, index) => {
      const failed = this.failingCustomerIds.has(id);
      return {
        _clientRef: operation.clientRefs[index],
        objectId: id,
        status: failed ? "error" : "updated",
        ...(failed ? { error: "customer not found" } : {}),
      };
    });
    const failureCount = results.filter((result) => result.status === "error").length;
    this.reply(response, 200, {
      data: [
        {
          type: "batch",
          id: `${operation.id}-1`,
          attributes: {
            status: "complete",
            objectIds: operation.customerIds,
            successCount: results.length - failureCount,
            failureCount,
            // Without _clientRef Kustomer gives no per-item results, only errors.
            ...(operation.clientRefs.length
              ? { errors: [], results }
              : { errors: results.filter((result) => result.error).map((result) => ({ objectId: result.objectId, message: result.error })) }),
          },
        },
      ],
    });
  }

  private reply(response: ServerResponse, status: number, body: unknown): void {
    response
      .writeHead(status, {
        "content-type": "application/json",
        "x-ratelimit-limit": "1000",
        "x-ratelimit-remaining": "999",
      })
      .end(JSON.stringify(body));
  }
}
