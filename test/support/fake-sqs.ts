// A real HTTP server speaking SQS's JSON protocol (SendMessage), with the MD5 digests the SDK checks,
// so the real SQS client is exercised through AWS_ENDPOINT_URL_SQS.
import { createHash, randomUUID } from "node:crypto";
import { type Served, serve } from "../../local/serve.ts";

interface Attribute {
  DataType: string;
  StringValue?: string;
}

export interface SentMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, string | undefined>;
}

/** SQS's digest of message attributes: sorted by name, each part length-prefixed. */
function attributesMd5(attributes: Record<string, Attribute>): string {
  const hash = createHash("md5");
  const lengthPrefixed = (text: string) => {
    const bytes = Buffer.from(text, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name] as Attribute;
    lengthPrefixed(name);
    lengthPrefixed(attribute.DataType);
    hash.update(Buffer.from([1]));
    lengthPrefixed(attribute.StringValue ?? "");
  }
  return hash.digest("hex");
}

export class FakeSqs {
  readonly sent: SentMessage[] = [];
  /** Answer the next SendMessage calls with a server error. */
  failures = 0;
  private served?: Served;

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const reply = (status: number, body: unknown) =>
        response.writeHead(status, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify(body));
      if (request.headers["x-amz-target"] !== "AmazonSQS.SendMessage")
        return reply(400, { __type: "UnsupportedOperation", message: "only SendMessage" });
      if (this.failures > 0) {
        this.failures -= 1;
        return reply(500, { __type: "InternalError", message: "injected" });
      }
      const input = JSON.parse(body.toString("utf8")) as {
        QueueUrl: string;
        MessageBody: string;
        MessageAttributes?: Record<string, Attribute>;
      };
      const attributes = input.MessageAttributes ?? {};
      this.sent.push({
        queueUrl: input.QueueUrl,
        body: input.MessageBody,
        attributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, value.StringValue])),
      });
      reply(200, {
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash("md5").update(input.MessageBody, "utf8").digest("hex"),
        ...(Object.keys(attributes).length ? { MD5OfMessageAttributes: attributesMd5(attributes) } : {}),
      });
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
