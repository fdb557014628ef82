// A real HTTP server answering S3's GetObject and PutObject (path-style), so the real S3 client is
// exercised through AWS_ENDPOINT_URL_S3.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class FakeS3 {
  /** "bucket/key" -> body */
  readonly objects = new Map<string, string>();
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const path = decodeURIComponent(new URL(request.url ?? "/", "http://s3.local").pathname.slice(1));
        if (request.method === "PUT") {
          this.objects.set(path, Buffer.concat(chunks).toString("utf8"));
          response.writeHead(200, { etag: '"0"' }).end();
          return;
        }
        const body = this.objects.get(path);
        if (request.method !== "GET" || body === undefined) {
          response
            .writeHead(404, { "content-type": "application/xml" })
            .end("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
          return;
        }
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
