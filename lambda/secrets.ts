// The Kustomer API key: from Secrets Manager, cached across warm invocations for a TTL and fetched
// again on demand (a 401 may mean the key was rotated). No secret value ever reaches a message.
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError, SecretUnavailableError } from "./errors.ts";

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

export interface SecretsManagerKeyProviderOptions {
  client: SecretsManagerClient;
  secretId: string;
  field: string;
  ttlMs: number;
  now?: () => number;
}

export class SecretsManagerKeyProvider implements ApiKeyProvider {
  private cached?: { apiKey: string; fetchedAt: number };
  private inFlight?: Promise<string>;
  private readonly now: () => number;

  constructor(private readonly options: SecretsManagerKeyProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  async getApiKey({ forceRefresh = false } = {}): Promise<string> {
    const fresh = this.cached && this.now() - this.cached.fetchedAt < this.options.ttlMs;
    if (this.cached && fresh && !forceRefresh) return this.cached.apiKey;
    // Concurrent callers share one fetch rather than each asking Secrets Manager.
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetch(): Promise<string> {
    const { client, secretId, field } = this.options;
    let secret: { SecretString?: string; SecretBinary?: Uint8Array };
    try {
      secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (error) {
      const name = error instanceof Error ? error.name : "UnknownError";
      if (PERMANENT_FAILURES.has(name)) {
        throw new ConfigurationError(`cannot read the secret named by KUSTOMER_SECRET_ID: ${name}`);
      }
      throw new SecretUnavailableError(`Secrets Manager did not return the secret named by KUSTOMER_SECRET_ID: ${name}`);
    }
    const value = secret.SecretString ?? (secret.SecretBinary ? new TextDecoder().decode(secret.SecretBinary) : "");
    const apiKey = extractApiKey(value, field);
    this.cached = { apiKey, fetchedAt: this.now() };
    return apiKey;
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
    throw new ConfigurationError("the secret named by KUSTOMER_SECRET_ID does not hold a usable API key (empty, or characters a header cannot carry)");
  }
  return apiKey;
}
