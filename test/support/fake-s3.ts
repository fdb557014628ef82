// A real HTTP server answering S3's REST API as S3 does, path-style, for the real S3 client through
// AWS_ENDPOINT_URL_S3: GetObject (whole or a byte range), HeadObject, PutObject, ListObjectsV2 (paged
// by 1,000 keys), and multipart uploads. Every call is recorded (action and resource ARN), so the
// permission simulation can check each against the synthesized policies.
import { createHash, randomUUID } from "node:crypto";
import { type Served, serve } from "../../local/serve.ts";

const xmlEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface S3Call {
  /** The access key id that signed the call: it tells which principal made it. */
  accessKeyId: string;
  action: string;
  resource: string;
  /** The prefix a listing asked for. */
  prefix?: string;
}

/** ListObjectsV2 answers at most this many keys a page, as S3 does by default. */
const PAGE_KEYS = 1000;

export class FakeS3 {
  /** "bucket/key" -> body */
  readonly objects = new Map<string, Buffer>();
  readonly calls: S3Call[] = [];
  /** Answer the next calls of this action with 503 SlowDown. */
  readonly faults = new Map<string, number>();
  private readonly uploads = new Map<string, { path: string; parts: Map<number, Buffer> }>();
  private served?: Served;

  /** The object's text, or undefined. */
  text(bucket: string, key: string): string | undefined {
    return this.objects.get(`${bucket}/${key}`)?.toString("utf8");
  }

  put(bucket: string, key: string, body: string | Buffer): void {
    this.objects.set(`${bucket}/${key}`, Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8"));
  }

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const url = new URL(request.url ?? "/", "http://s3.local");
      const path = decodeURIComponent(url.pathname.slice(1));
      const [bucket = "", ...rest] = path.split("/");
      const key = rest.join("/");
      const query = url.searchParams;
      const xml = (status: number, text: string) =>
        response.writeHead(status, { "content-type": "application/xml" }).end(`<?xml version="1.0" encoding="UTF-8"?>${text}`);
      const error = (status: number, code: string, message: string) =>
        xml(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
      const record = (action: string, extra: Partial<S3Call> = {}) => {
        const accessKeyId = /Credential=([^/]+)\//.exec(request.headers.authorization ?? "")?.[1] ?? "anonymous";
        this.calls.push({ accessKeyId, action, resource: key ? `arn:aws:s3:::${bucket}/${key}` : `arn:aws:s3:::${bucket}`, ...extra });
        const faults = this.faults.get(action) ?? 0;
        if (faults <= 0) return false;
        this.faults.set(action, faults - 1);
        error(503, "SlowDown", "Please reduce your request rate.");
        return true;
      };

      if (request.method === "GET" && !key && query.get("list-type") === "2") {
        const prefix = query.get("prefix") ?? "";
        if (record("s3:ListBucket", { prefix })) return;
        const all = [...this.objects.keys()]
          .filter((entry) => entry.startsWith(`${bucket}/${prefix}`))
          .map((entry) => entry.slice(bucket.length + 1))
          .sort();
        const after = query.get("continuation-token") ?? "";
        const from = after ? all.findIndex((entry) => entry > after) : 0;
        const page = from < 0 ? [] : all.slice(from, from + PAGE_KEYS);
        const truncated = from >= 0 && from + PAGE_KEYS < all.length;
        const contents = page.map(
          (entry) =>
            `<Contents><Key>${xmlEscape(entry)}</Key><Size>${this.objects.get(`${bucket}/${entry}`)?.length ?? 0}</Size></Contents>`,
        );
        const next = truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1) as string)}</NextContinuationToken>` : "";
        return xml(
          200,
          `<ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${PAGE_KEYS}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents.join("")}${next}</ListBucketResult>`,
        );
      }
      if (request.method === "POST" && query.has("uploads")) {
        if (record("s3:PutObject")) return;
        const uploadId = randomUUID();
        this.uploads.set(uploadId, { path, parts: new Map() });
        return xml(
          200,
          `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        );
      }
      const uploadId = query.get("uploadId");
      if (uploadId) {
        const upload = this.uploads.get(uploadId);
        if (!upload || upload.path !== path) return error(404, "NoSuchUpload", "The specified upload does not exist.");
        if (request.method === "PUT") {
          if (record("s3:PutObject")) return;
          upload.parts.set(Number(query.get("partNumber")), body);
          return response.writeHead(200, { etag: `"${randomUUID()}"` }).end();
        }
        if (request.method === "DELETE") {
          record("s3:AbortMultipartUpload");
          this.uploads.delete(uploadId);
          return response.writeHead(204).end();
        }
        if (record("s3:PutObject")) return;
        const numbers = [...upload.parts.keys()].sort((a, b) => a - b);
        this.objects.set(path, Buffer.concat(numbers.map((number) => upload.parts.get(number) as Buffer)));
        this.uploads.delete(uploadId);
        return xml(
          200,
          `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${xmlEscape(key)}</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>`,
        );
      }
      if (request.method === "PUT") {
        if (record("s3:PutObject")) return;
        this.objects.set(path, body);
        return response.writeHead(200, { etag: '"0"' }).end();
      }
      // HeadObject is allowed by s3:GetObject, as GetObject itself is.
      if (record("s3:GetObject")) return;
      const stored = this.objects.get(path);
      // S3's answer to a caller that may not list the whole bucket (the job's function may not): 403, not 404.
      if (stored === undefined) {
        if (request.method === "HEAD") return response.writeHead(403).end();
        return error(403, "AccessDenied", "Access Denied");
      }
      // An object's ETag is its MD5 (for a single-part upload); If-Match must name it.
      const etag = `"${createHash("md5").update(stored).digest("hex")}"`;
      const ifMatch = request.headers["if-match"];
      if (ifMatch !== undefined && ifMatch !== etag) {
        if (request.method === "HEAD") return response.writeHead(412).end();
        return error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
      if (range) {
        const [start, end] = [Number(range[1]), Math.min(Number(range[2]), stored.length - 1)];
        const part = stored.subarray(start, end + 1);
        response.writeHead(206, {
          etag,
          "content-type": "application/octet-stream",
          "content-length": part.length,
          "content-range": `bytes ${start}-${end}/${stored.length}`,
        });
        return response.end(request.method === "HEAD" ? undefined : part);
      }
      response.writeHead(200, { etag, "content-type": "application/octet-stream", "content-length": stored.length });
      response.end(request.method === "HEAD" ? undefined : stored);
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
