// The function's one HTTP transport (lambda/platform/http-client.ts), against a real local server: what fetch
// gave for free must still hold.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendHttp } from "../lambda/platform/http-client.ts";
import { failure } from "./support/failures.ts";

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === "/stall") {
      // Headers and half the body, then nothing: the timeout must cover the answer, not only its start.
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"data":');
      return;
    }
    if (request.url === "/big" || request.url === "/big-chunked") {
      // 8 MB, announced by its length or (chunked) not: neither is read past the cap.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      response.writeHead(201, request.url === "/big" ? { "content-length": String(chunk.length * 128) } : {});
      let sent = 0;
      const more = () => {
        while (sent < 128 && !response.destroyed) {
          sent += 1;
          if (!response.write(chunk)) return response.once("drain", more);
        }
        response.end();
      };
      response.on("error", () => undefined);
      return more();
    }
    if (request.url === "/headers") {
      response.writeHead(200, [
        ["X-RateLimit-Remaining", "7"],
        ["Set-Cookie", "a=1"],
        ["Set-Cookie", "b=2"],
      ]);
      response.end("{}");
      return;
    }
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => response.end(JSON.stringify({ length: request.headers["content-length"], body })));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("sendHttp", () => {
  it.each(["/big", "/big-chunked"])("drops an answer over its cap without reading it whole (%s)", async (path) => {
    const answer = await sendHttp(new URL(`${base}${path}`), { method: "GET", headers: {}, timeoutMs: 5_000, maxBodyBytes: 1024 * 1024 });
    expect(answer).toMatchObject({ status: 201, body: "", tooLarge: true });
  });

  it("sends the body with its length and reads the whole answer", async () => {
    const body = JSON.stringify({ city: "Zürich" });
    const answer = await sendHttp(new URL(`${base}/echo`), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body,
      timeoutMs: 2_000,
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ length: String(Buffer.byteLength(body)), body });
  });

  it("reads headers by any case, a repeated one joined", async () => {
    const { headers } = await sendHttp(new URL(`${base}/headers`), { method: "GET", headers: {}, timeoutMs: 2_000 });
    expect(headers.get("x-ratelimit-remaining")).toBe("7");
    expect(headers.get("X-RATELIMIT-REMAINING")).toBe("7");
    expect(headers.get("set-cookie")).toBe("a=1, b=2");
    expect(headers.get("retry-after")).toBeNull();
  });

  it("gives up on an answer that stops halfway within the timeout, and still tells the status that came", async () => {
    const started = Date.now();
    const answer = await sendHttp(new URL(`${base}/stall`), { method: "GET", headers: {}, timeoutMs: 200 });
    // A 2xx to a write is accepted even if its body never ends: the caller must know it was one.
    expect(answer).toMatchObject({ status: 200, body: "", cutOff: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("names a refused connection by Node's code", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(sendHttp(new URL(`http://127.0.0.1:${port}/`), { method: "GET", headers: {}, timeoutMs: 2_000 }));
    expect((error as { code?: string }).code).toBe("ECONNREFUSED");
  });
});
