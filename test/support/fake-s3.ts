// A real HTTP server answering S3's GetObject (whole or a byte range), PutObject and ListObjectsV2
// (path-style), so the real S3 client is exercised through AWS_ENDPOINT_URL_S3.
import { serve, type Served } from "../../local/serve.ts";

const xmlEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export class FakeS3 {
  /** "bucket/key" -> body */
  readonly objects = new Map<string, string>();
  private served?: Served;

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const url = new URL(request.url ?? "/", "http://s3.local");
      const path = decodeURIComponent(url.pathname.slice(1));
      if (request.method === "PUT") {
        this.objects.set(path, body.toString("utf8"));
        response.writeHead(200, { etag: '"0"' }).end();
        return;
      }
      if (request.method === "GET" && url.searchParams.get("list-type") === "2") {
        const bucket = path.replace(/\/$/, "");
        const prefix = `${bucket}/${url.searchParams.get("prefix") ?? ""}`;
        const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(bucket.length + 1));
        const contents = keys.map((key) => `<Contents><Key>${xmlEscape(key)}</Key><Size>${Buffer.byteLength(this.objects.get(`${bucket}/${key}`) ?? "")}</Size></Contents>`);
        response
          .writeHead(200, { "content-type": "application/xml" })
          .end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents.join("")}</ListBucketResult>`);
        return;
      }
      const stored = this.objects.get(path);
      if (request.method !== "GET" || stored === undefined) {
        response
          .writeHead(404, { "content-type": "application/xml" })
          .end("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
        return;
      }
      const bytes = Buffer.from(stored, "utf8");
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
      if (range) {
        const [start, end] = [Number(range[1]), Math.min(Number(range[2]), bytes.length - 1)];
        const part = bytes.subarray(start, end + 1);
        response
          .writeHead(206, { "content-type": "application/octet-stream", "content-length": part.length, "content-range": `bytes ${start}-${end}/${bytes.length}` })
          .end(part);
        return;
      }
      response.writeHead(200, { "content-type": "application/json", "content-length": bytes.length }).end(bytes);
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
