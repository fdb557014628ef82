// One HTTP request over node:http (node:https for an https URL), its answer read whole. Not fetch:
// its first request sets up undici's dispatcher, streams and WebAssembly HTTP parser, and every
// request does more work than node:http's. Both measured in bench/README.md.
import * as http from "node:http";

export interface HttpRequest {
  method: "GET" | "PUT";
  headers: Record<string, string>;
  body?: string;
  /** The whole exchange, answer included, is abandoned after this: it fails with a TimeoutError. */
  timeoutMs: number;
  /** An answer longer than this is not read: it comes back `tooLarge`, with no body. */
  maxBodyBytes?: number;
}

/** Read-only headers by case-insensitive name: the part of fetch's Headers this service reads. */
export interface HttpHeaders {
  get(name: string): string | null;
}

export interface HttpAnswer {
  status: number;
  headers: HttpHeaders;
  body: string;
  /** The answer was longer than `maxBodyBytes`: it was dropped, not buffered. */
  tooLarge?: boolean;
  /** The status and headers came, then the connection broke or timed out before the body ended. */
  cutOff?: boolean;
}

/**
 * Sends one request on the runtime's keep-alive agent and reads the whole answer. No redirect is
 * followed: one could carry the key to another host. A network failure rejects with Node's error,
 * whose `code` names it (ECONNRESET, ECONNREFUSED, ...).
 */
export async function sendHttp(
  url: URL,
  { method, headers, body, timeoutMs, maxBodyBytes = Number.POSITIVE_INFINITY }: HttpRequest,
): Promise<HttpAnswer> {
  // Kustomer is reached over https; the secrets extension and the local sandbox over plain http.
  const { request } = url.protocol === "https:" ? await import("node:https") : http;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    /** The answer's status and headers, once they are in. */
    let head: Pick<HttpAnswer, "status" | "headers"> | undefined;
    const settle = (answer: HttpAnswer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    // Once the status is in, a broken or stalled body does not unsay it: the caller learns both.
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (head) resolve({ ...head, body: "", cutOff: true });
      else reject(error);
    };
    const sent = request(
      url,
      { method, headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } },
      (answer) => {
        head = { status: answer.statusCode ?? 0, headers: headersOf(answer.headers) };
        const known = head;
        const chunks: Buffer[] = [];
        let received = 0;
        const tooLarge = () => {
          settle({ ...known, body: "", tooLarge: true });
          sent.destroy();
        };
        if (Number(answer.headers["content-length"] ?? 0) > maxBodyBytes) return tooLarge();
        answer.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBodyBytes) return tooLarge();
          chunks.push(chunk);
        });
        // A connection closed mid-answer errors here, not with an early "end".
        answer.on("error", fail);
        answer.on("end", () => settle({ ...known, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    timer = setTimeout(() => sent.destroy(new DOMException(`no complete answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    sent.on("error", fail);
    sent.end(body);
  });
}

function headersOf(received: http.IncomingHttpHeaders): HttpHeaders {
  return {
    get: (name) => {
      const value = received[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
  };
}
