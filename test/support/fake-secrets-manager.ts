// A real HTTP server speaking the Secrets Manager JSON protocol (GetSecretValue), so the real AWS SDK
// client is exercised through AWS_ENDPOINT_URL_SECRETS_MANAGER instead of being mocked.
import { type Served, serve } from "../../local/serve.ts";

export class FakeSecretsManager {
  readonly secrets = new Map<string, string>();
  /** GetSecretValue calls received, faulty ones included. */
  calls = 0;
  /** Error types to answer with, one per call, before answering normally again. */
  readonly faults: string[] = [];
  private served?: Served;

  async start(): Promise<string> {
    this.served = await serve((request, body, response) => {
      const reply = (status: number, body: unknown, errorType?: string) =>
        response
          .writeHead(status, {
            "content-type": "application/x-amz-json-1.1",
            ...(errorType ? { "x-amzn-errortype": errorType } : {}),
          })
          .end(JSON.stringify(body));
      if (request.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") {
        return reply(
          400,
          { __type: "UnknownOperationException", message: "only GetSecretValue is served here" },
          "UnknownOperationException",
        );
      }
      this.calls += 1;
      const fault = this.faults.shift();
      if (fault) {
        const status = fault === "InternalServiceError" ? 500 : 400;
        return reply(status, { __type: fault, message: `injected ${fault}` }, fault);
      }
      const { SecretId } = JSON.parse(body.toString("utf8")) as { SecretId: string };
      const value = this.secrets.get(SecretId);
      if (value === undefined) {
        return reply(
          400,
          { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." },
          "ResourceNotFoundException",
        );
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`,
        Name: SecretId,
        SecretString: value,
        VersionId: "00000000-0000-4000-8000-000000000000",
        VersionStages: ["AWSCURRENT"],
        CreatedDate: 1_700_000_000,
      });
    });
    return this.served.url;
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
