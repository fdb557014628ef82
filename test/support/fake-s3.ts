// A real HTTP server answering S3's GetObject and PutObject (path-style), so the real S3 client is
// exercised through AWS_ENDPOINT_URL_S3.
import { serve, type Served } from "../../local/serve.ts";

export class FakeS3 {
  /** "bucket/key" -> body */
  readonly objects = new Map<string, string>();
  private served?: Served;

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const path = decodeURIComponent(new URL(request.url ?? "/", "http://s3.local").pathname.slice(1));
      if (request.method === "PUT") {
        this.objects.set(path, body.toString("utf8"));
        response.writeHead(200, { etag: '"0"' }).end();
        return;
      }
      const stored = this.objects.get(path);
      if (request.method !== "GET" || stored === undefined) {
        response
          .writeHead(404, { "content-type": "application/xml" })
          .end("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
        return;
      }
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(stored) }).end(stored);
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
