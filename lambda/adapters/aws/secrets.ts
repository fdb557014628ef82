// The Kustomer API key: from Secrets Manager, cached across warm invocations for a TTL and fetched
// again on demand (a 401 may mean the key was rotated). With the Parameters and Secrets Lambda
// Extension present, the key comes from it, a local HTTP call, and the SDK is never loaded; the SDK
// stays the fallback, and the way past the extension's own cache after a 401. No secret value ever
// reaches a message.
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError, SecretUnavailableError } from "../../contract/errors.ts";
import { sendHttp } from "../../platform/http-client.ts";

export interface ApiKeyProvider {
  getApiKey(options?: { forceRefresh?: boolean }): Promise<string>;
}

// Printable ASCII only: anything else cannot travel in an Authorization header.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** For local development: a key given directly (KUSTOMER_API_KEY). */
export class StaticApiKeyProvider implements ApiKeyProvider {
  constructor(private readonly apiKey: string) {
    if (!HEADER_SAFE.test(apiKey)) throw new ConfigurationError("KUSTOMER_API_KEY is not a valid API key");
  }

  async getApiKey(): Promise<string> {
    return this.apiKey;
  }
}

// These mean the secret or its access is wrong, so trying again cannot help.
const PERMANENT_FAILURES = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "AccessDeniedError",
  "DecryptionFailure",
  "InvalidParameterException",
  "InvalidRequestException",
  "CredentialsProviderError",
  "UnrecognizedClientException",
]);

/** The AWS Parameters and Secrets Lambda Extension, listening on localhost. */
export interface SecretsExtension {
  port: number;
  /** The execution environment's session token, which the extension requires. */
  token: () => string | undefined;
}

export interface SecretsManagerKeyProviderOptions {
  /** Made on first use only: with the extension, never. */
  client: () => SecretsManagerClient | Promise<SecretsManagerClient>;
  secretId: string;
  field: string;
  ttlMs: number;
  extension?: SecretsExtension;
  now?: () => number;
}

/** What the extension and GetSecretValue both answer. */
interface SecretValue {
  SecretString?: string;
  SecretBinary?: Uint8Array | string;
}

/**
 * The extension answers on the loopback address at once, or not at all: past this, the SDK is asked
 * instead. 127.0.0.1 rather than "localhost": no name lookup and no IPv6 attempt first (4 ms of a
 * cold start, measured in npm run bench).
 */
const EXTENSION_TIMEOUT_MS = 1_000;

export class SecretsManagerKeyProvider implements ApiKeyProvider {
  private cached?: { apiKey: string; fetchedAt: number };
  private inFlight?: Promise<string>;
  /** One client for the environment's life: each would keep its own connections. */
  private client?: Promise<SecretsManagerClient>;
  private readonly now: () => number;

  constructor(private readonly options: SecretsManagerKeyProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  async getApiKey({ forceRefresh = false } = {}): Promise<string> {
    const fresh = this.cached && this.now() - this.cached.fetchedAt < this.options.ttlMs;
    if (this.cached && fresh && !forceRefresh) return this.cached.apiKey;
    // Concurrent callers share one fetch rather than each asking Secrets Manager.
    this.inFlight ??= this.fetch(forceRefresh).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetch(forceRefresh: boolean): Promise<string> {
    // A refresh goes past the extension: its cache may still hold the key that was just refused.
    const secret = (!forceRefresh && (await this.fromExtension())) || (await this.fromSdk());
    const binary = secret.SecretBinary;
    const value =
      secret.SecretString ??
      (typeof binary === "string" ? Buffer.from(binary, "base64").toString("utf8") : binary ? new TextDecoder().decode(binary) : "");
    const apiKey = extractApiKey(value, this.options.field);
    this.cached = { apiKey, fetchedAt: this.now() };
    return apiKey;
  }

  /** Undefined when the extension is absent or fails: the SDK then answers, and names any error. */
  private async fromExtension(): Promise<SecretValue | undefined> {
    const { extension, secretId } = this.options;
    if (!extension) return undefined;
    try {
      const answer = await sendHttp(
        new URL(`http://127.0.0.1:${extension.port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`),
        {
          method: "GET",
          headers: { "X-Aws-Parameters-Secrets-Token": extension.token() ?? "" },
          timeoutMs: EXTENSION_TIMEOUT_MS,
        },
      );
      return answer.status === 200 ? (JSON.parse(answer.body) as SecretValue) : undefined;
    } catch {
      return undefined;
    }
  }

  private async fromSdk(): Promise<SecretValue> {
    const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    try {
      this.client ??= Promise.resolve(this.options.client());
      const client = await this.client;
      return await client.send(new GetSecretValueCommand({ SecretId: this.options.secretId }));
    } catch (error) {
      const name = error instanceof Error ? error.name : "UnknownError";
      if (PERMANENT_FAILURES.has(name)) {
        throw new ConfigurationError(`cannot read the secret named by KUSTOMER_SECRET_ID: ${name}`, { cause: error });
      }
      throw new SecretUnavailableError(`Secrets Manager did not return the secret named by KUSTOMER_SECRET_ID: ${name}`, { cause: error });
    }
  }
}

/** A secret is either the key itself or JSON with the key in `field`. */
export function extractApiKey(value: string, field: string): string {
  const trimmed = value.trim();
  let apiKey: unknown = trimmed;
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // JSON.parse quotes the input in its message: never pass it on.
      throw new ConfigurationError("the secret named by KUSTOMER_SECRET_ID starts like JSON but is not valid JSON");
    }
    apiKey = (parsed as Record<string, unknown>)[field];
    if (typeof apiKey !== "string") {
      throw new ConfigurationError(`the secret named by KUSTOMER_SECRET_ID has no string field "${field}" (KUSTOMER_SECRET_FIELD)`);
    }
    apiKey = apiKey.trim();
  }
  if (typeof apiKey !== "string" || !HEADER_SAFE.test(apiKey)) {
    throw new ConfigurationError(
      "the secret named by KUSTOMER_SECRET_ID does not hold a usable API key (empty, or characters a header cannot carry)",
    );
  }
  return apiKey;
}
