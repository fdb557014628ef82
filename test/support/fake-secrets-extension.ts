// A stand-in for the AWS Parameters and Secrets Lambda Extension: its local HTTP endpoint
// (GET /secretsmanager/get?secretId=…, with the session token in X-Aws-Parameters-Secrets-Token)
// answering what GetSecretValue answers. The tests and the benchmark serve the key from it.
import { type Served, serve } from "../../local/serve.ts";

export class FakeSecretsExtension {
  readonly secrets = new Map<string, string>();
  calls = 0;
  /** Answer every call with this status instead, as the extension does when Secrets Manager fails it. */
  failWith?: number;
  private served?: Served;

  constructor(private readonly token: string) {}

  /** Answers the port, as the extension's PARAMETERS_SECRETS_EXTENSION_HTTP_PORT. */
  async start(): Promise<number> {
    this.served = await serve((request, _body, response) => {
      const url = new URL(request.url ?? "/", "http://localhost");
      this.calls += 1;
      if (request.headers["x-aws-parameters-secrets-token"] !== this.token) return response.writeHead(401).end("missing or wrong token");
      if (this.failWith) return response.writeHead(this.failWith).end("injected failure");
      const secretId = url.searchParams.get("secretId") ?? "";
      const value = this.secrets.get(secretId);
      if (url.pathname !== "/secretsmanager/get" || value === undefined) return response.writeHead(400).end("ResourceNotFoundException");
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ Name: secretId, SecretString: value, VersionStages: ["AWSCURRENT"] }));
    });
    return Number(new URL(this.served.url).port);
  }

  async stop(): Promise<void> {
    await this.served?.close();
  }
}
