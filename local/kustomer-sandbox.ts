// An in-memory Kustomer for local runs, tests and benchmarks alike: the bulk-update (of customers, or of
// any object's collection), bulk-status and record endpoints over real HTTP, bearer keys, a per-minute rate limit with Kustomer's headers, and
// injectable faults. Bulk updates are applied asynchronously, as Kustomer does.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { answerWith, type FaultRule, matches, type RecordedRequest } from "./sandbox-faults.ts";
import { apply, type BulkOperation, batchesOf, bulkResource, operationOf, statusOf } from "./sandbox-operations.ts";
import { type Customer, SandboxRecords, SEED_CUSTOMERS, singularOf } from "./sandbox-records.ts";
import { listen } from "./serve.ts";

/** PUT /v1/<collection>/bulk: Kustomer's bulk update, for whichever object's collection. */
const BULK_UPDATE = /^\/v1\/([a-z]+)\/bulk$/;
/** Bulk operations the sandbox remembers; older ones are forgotten (their status then answers 404). */
const MAX_OPERATIONS = 10_000;
/** The key the sandbox accepts unless told otherwise; `npm start` uses it when no key is given. */
export const SANDBOX_API_KEY = "kst_sandbox_local_development_key";

export interface SandboxOptions {
  apiKey?: string;
  /** Requests per minute before 429s; Kustomer's Enterprise plan allows 1,000. */
  rateLimitPerMinute?: number;
  /** The budget's window; a minute, as Kustomer's, unless a test wants it shorter. */
  rateLimitWindowMs?: number;
  /** Added to every answer, to stand in for the network. */
  latencyMs?: number;
  /** How long a bulk operation stays queued, then running, before it is applied. */
  applyAfterMs?: number;
  /** Start with SEED_CUSTOMERS. */
  seed?: boolean;
  /** Treat every well-formed id as a customer (one is made on its first update); otherwise unknown ids fail, as on Kustomer. */
  knowsEveryCustomer?: boolean;
  /** Record every request (tests); off for long benchmark runs. */
  record?: boolean;
  /** Called once per answered request, for a one-line log. */
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
  now?: () => number;
}

export class KustomerSandbox {
  readonly requests: RecordedRequest[] = [];
  readonly apiKeys = new Set<string>();
  /** Each object's records, by collection (`customers`, as in /v1/customers/bulk). */
  readonly records = new SandboxRecords();
  readonly customers = this.records.of("customers");
  readonly operations = new Map<string, BulkOperation>();
  rateLimitPerMinute: number;
  readonly rateLimitWindowMs: number;
  latencyMs: number;
  applyAfterMs: number;
  /** 429s the sandbox has answered because the budget was spent (injected faults not counted). */
  rateLimited = 0;
  /** Connections open to the sandbox now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Requests being answered now, and the most there have been at once. */
  inFlight = 0;
  peakInFlight = 0;
  private readonly rules: Array<FaultRule & { left: number }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly now: () => number;
  private window = { startedAt: 0, used: 0 };
  private server?: Server;

  constructor(private readonly options: SandboxOptions = {}) {
    this.apiKeys.add(options.apiKey ?? SANDBOX_API_KEY);
    this.rateLimitPerMinute = options.rateLimitPerMinute ?? 1000;
    this.rateLimitWindowMs = options.rateLimitWindowMs ?? 60_000;
    this.latencyMs = options.latencyMs ?? 0;
    this.applyAfterMs = options.applyAfterMs ?? 200;
    this.now = options.now ?? Date.now;
    if (options.seed ?? true) this.addCustomers(SEED_CUSTOMERS);
  }

  async start(port = 0, host = "127.0.0.1"): Promise<string> {
    this.server = createServer((request, response) => {
      const started = Date.now();
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.on("finish", () =>
          this.options.onRequest?.({
            method: request.method ?? "GET",
            path: request.url ?? "/",
            status: response.statusCode,
            ms: Date.now() - started,
          }),
        );
        this.inFlight += 1;
        this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
        response.on("close", () => (this.inFlight -= 1));
        const answer = () => this.handle(request.method ?? "GET", request.url ?? "/", request.headers, Buffer.concat(chunks), response);
        if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
        else answer();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await listen(this.server, port, host);
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  addCustomers(customers: Array<Partial<Customer> & { id: string }>): void {
    this.records.add("customers", customers);
  }

  /** Forgets recorded requests, pending faults and the rate-limit window, for the next test. */
  reset(): void {
    this.requests.length = 0;
    this.rules.length = 0;
    this.window = { startedAt: 0, used: 0 };
    this.rateLimited = 0;
    this.peakInFlight = 0;
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Requests to the bulk-update endpoint only. */
  get bulkPuts(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === "PUT" && BULK_UPDATE.test(request.path));
  }

  private handle(method: string, rawUrl: string, headers: IncomingHttpHeaders, raw: Buffer, response: ServerResponse): void {
    const url = new URL(rawUrl, "http://sandbox.local");
    let body: unknown;
    try {
      body = raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      body = raw.toString("utf8");
    }
    const recorded = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body };
    if (this.options.record ?? true) this.requests.push(recorded);

    const rule = this.rules.find((candidate) => candidate.left > 0 && matches(candidate, recorded));
    if (rule) {
      rule.left -= 1;
      return answerWith(rule.fault, response);
    }

    const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    if (!token || !this.apiKeys.has(token)) {
      return this.reply(response, 401, { errors: [{ status: 401, code: "unauthorized", title: "Unauthorized" }] }, {});
    }
    const budget = this.spendBudget();
    if (!budget.allowed) {
      this.rateLimited += 1;
      return this.reply(
        response,
        429,
        { errors: [{ status: 429, code: "too_many_requests", title: "Rate limit exceeded" }] },
        { ...budget.headers, "retry-after": String(Math.max(1, Math.ceil((budget.resetAt - this.now()) / 1000))) },
      );
    }

    const path = url.pathname;
    const collection = BULK_UPDATE.exec(path)?.[1];
    if (method === "PUT" && collection) return this.bulkUpdate(collection, url, body, response, budget.headers);
    const bulk = /^\/v1\/bulk\/([^/]+)(\/batches)?$/.exec(path);
    const operation = bulk && this.operations.get(bulk[1] as string);
    if (method === "GET" && operation) {
      return bulk[2] ? this.batches(operation, response, budget.headers) : this.bulkStatus(operation, response, budget.headers);
    }
    const record = /^\/v1\/([a-z]+)\/([^/]+)$/.exec(path);
    if (method === "GET" && record) {
      this.applyDueOperations();
      const found = this.records.find(record[1] as string, record[2] as string);
      if (found) {
        const { id, ...attributes } = found;
        return this.reply(response, 200, { data: { type: singularOf(record[1] as string), id, attributes } }, budget.headers);
      }
    }
    this.reply(response, 404, { errors: [{ status: 404, code: "not_found", title: "Not Found" }] }, budget.headers);
  }

  /**
   * A fixed window (a minute), reported the way Kustomer does: the reset in epoch seconds, so windows
   * start on a whole second and a client waiting for the reset wakes exactly at it.
   */
  private spendBudget(): { allowed: boolean; resetAt: number; headers: Record<string, string> } {
    const now = this.now();
    if (now - this.window.startedAt >= this.rateLimitWindowMs) this.window = { startedAt: Math.floor(now / 1000) * 1000, used: 0 };
    const allowed = this.window.used < this.rateLimitPerMinute;
    if (allowed) this.window.used += 1;
    const resetAt = this.window.startedAt + this.rateLimitWindowMs;
    return {
      allowed,
      resetAt,
      headers: {
        "x-ratelimit-limit": String(this.rateLimitPerMinute),
        "x-ratelimit-remaining": String(Math.max(0, this.rateLimitPerMinute - this.window.used)),
        "x-ratelimit-reset": String(Math.ceil(resetAt / 1000)),
      },
    };
  }

  private bulkUpdate(collection: string, url: URL, body: unknown, response: ServerResponse, headers: Record<string, string>): void {
    // Applying what is due frees its payload: a long job must not keep every update in memory.
    this.applyDueOperations();
    const operation = operationOf(collection, url, body, this.now());
    if (typeof operation === "string")
      return this.reply(response, 400, { errors: [{ status: 400, code: "bad_request", title: operation }] }, headers);
    this.operations.set(operation.id, operation);
    // Kustomer keeps bulk operations for a while; the sandbox keeps the latest ones, so long jobs stay small.
    if (this.operations.size > MAX_OPERATIONS) this.operations.delete(this.operations.keys().next().value as string);
    this.reply(response, 201, { data: bulkResource(operation, statusOf(operation, this.now(), this.applyAfterMs)) }, headers);
  }

  /** Applies the operations whose time has come: the data changes only then, as with Kustomer. */
  private applyDueOperations(): void {
    for (const operation of this.operations.values()) {
      if (!operation.failed && statusOf(operation, this.now(), this.applyAfterMs) === "complete")
        apply(operation, this.records.of(operation.collection), this.options.knowsEveryCustomer ?? false);
    }
  }

  private bulkStatus(operation: BulkOperation, response: ServerResponse, headers: Record<string, string>): void {
    this.applyDueOperations();
    this.reply(response, 200, { data: bulkResource(operation, statusOf(operation, this.now(), this.applyAfterMs)) }, headers);
  }

  private batches(operation: BulkOperation, response: ServerResponse, headers: Record<string, string>): void {
    this.applyDueOperations();
    this.reply(response, 200, batchesOf(operation), headers);
  }

  private reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
    response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  }
}
