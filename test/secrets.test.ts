import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretsManagerKeyProvider, StaticApiKeyProvider } from "../lambda/adapters/aws/secrets.ts";
import { ConfigurationError, SecretUnavailableError } from "../lambda/contract/errors.ts";
import { failure } from "./support/failures.ts";
import { FakeSecretsExtension } from "./support/fake-secrets-extension.ts";
import { FakeSecretsManager } from "./support/fake-secrets-manager.ts";

const secretsManager = new FakeSecretsManager();
let client: SecretsManagerClient;

beforeAll(async () => {
  const endpoint = await secretsManager.start();
  // The real SDK client, over HTTP, exactly as in Lambda but for the endpoint.
  client = new SecretsManagerClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "test" },
  });
});
afterAll(() => secretsManager.stop());

function provider(secretId: string, options: { field?: string; ttlMs?: number; now?: () => number } = {}) {
  return new SecretsManagerKeyProvider({
    client: () => client,
    secretId,
    field: options.field ?? "apiKey",
    ttlMs: options.ttlMs ?? 60_000,
    now: options.now,
  });
}

describe("the API key from Secrets Manager", () => {
  it("reads a plain-string secret and a JSON secret's field, trimming stray whitespace", async () => {
    secretsManager.secrets.set("plain", "kst_plain_key\n");
    secretsManager.secrets.set("json", JSON.stringify({ apiKey: "kst_json_key", other: "x" }));
    secretsManager.secrets.set("custom-field", JSON.stringify({ token: "kst_token_key" }));
    expect(await provider("plain").getApiKey()).toBe("kst_plain_key");
    expect(await provider("json").getApiKey()).toBe("kst_json_key");
    expect(await provider("custom-field", { field: "token" }).getApiKey()).toBe("kst_token_key");
  });

  it("caches the key for the TTL, refetches after it, and on demand", async () => {
    secretsManager.secrets.set("cached", "kst_first");
    let now = 1_000_000;
    const keys = provider("cached", { ttlMs: 300_000, now: () => now });
    const before = secretsManager.calls;
    for (let i = 0; i < 5; i += 1) expect(await keys.getApiKey()).toBe("kst_first");
    expect(secretsManager.calls - before).toBe(1);

    secretsManager.secrets.set("cached", "kst_rotated");
    now += 299_999;
    expect(await keys.getApiKey()).toBe("kst_first");
    now += 1;
    expect(await keys.getApiKey()).toBe("kst_rotated");
    secretsManager.secrets.set("cached", "kst_rotated_again");
    expect(await keys.getApiKey({ forceRefresh: true })).toBe("kst_rotated_again");
    expect(secretsManager.calls - before).toBe(3);
  });

  it("shares one fetch among concurrent callers", async () => {
    secretsManager.secrets.set("concurrent", "kst_concurrent");
    const keys = provider("concurrent");
    const before = secretsManager.calls;
    const results = await Promise.all(Array.from({ length: 10 }, () => keys.getApiKey()));
    expect(new Set(results)).toEqual(new Set(["kst_concurrent"]));
    expect(secretsManager.calls - before).toBe(1);
  });

  it("reports a missing secret, a missing field or malformed JSON as ConfigurationError without the value", async () => {
    secretsManager.secrets.set("no-field", JSON.stringify({ token: "kst_hidden_value" }));
    secretsManager.secrets.set("bad-json", '{"apiKey": "kst_hidden_value",');
    secretsManager.secrets.set("blank", "   ");

    const missing = await failure(provider("does-not-exist").getApiKey());
    expect(missing).toBeInstanceOf(ConfigurationError);
    // The variable is named, not its value: on AWS that is the secret's ARN, which callers need not see.
    expect(missing.message).toBe("cannot read the secret named by KUSTOMER_SECRET_ID: ResourceNotFoundException");

    const noField = await failure(provider("no-field").getApiKey());
    expect(noField).toBeInstanceOf(ConfigurationError);
    expect(noField.message).toContain('no string field "apiKey" (KUSTOMER_SECRET_FIELD)');

    const badJson = await failure(provider("bad-json").getApiKey());
    expect(badJson).toBeInstanceOf(ConfigurationError);
    expect(badJson.message).toContain("not valid JSON");
    for (const error of [missing, noField, badJson]) expect(error.message).not.toMatch(/does-not-exist|no-field|bad-json/);

    expect(await failure(provider("blank").getApiKey())).toBeInstanceOf(ConfigurationError);
    for (const error of [noField, badJson]) expect(error.message).not.toContain("kst_hidden_value");
  });

  it("reports throttling that outlasts the SDK's retries as a retryable SecretUnavailableError", async () => {
    secretsManager.secrets.set("throttled", "kst_throttled");
    secretsManager.faults.push("ThrottlingException", "ThrottlingException", "ThrottlingException", "ThrottlingException");
    const error = await failure(provider("throttled").getApiKey());
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as SecretUnavailableError).retryable).toBe(true);
    secretsManager.faults.length = 0;
  });

  it("rides out one throttled call through the SDK's own retry", async () => {
    secretsManager.secrets.set("throttled-once", "kst_after_throttle");
    secretsManager.faults.push("ThrottlingException");
    expect(await provider("throttled-once").getApiKey()).toBe("kst_after_throttle");
  });
});

describe("the API key from the Parameters and Secrets Lambda Extension", () => {
  const TOKEN = "session-token-of-this-environment";
  const extension = new FakeSecretsExtension(TOKEN);
  let port: number;
  beforeAll(async () => {
    port = await extension.start();
  });
  afterAll(() => extension.stop());

  const viaExtension = (secretId: string, extensionPort = port) =>
    new SecretsManagerKeyProvider({
      client: () => client,
      secretId,
      field: "apiKey",
      ttlMs: 60_000,
      extension: { port: extensionPort, token: () => TOKEN },
    });

  it("reads the key from the extension, with the session token, and never asks Secrets Manager", async () => {
    extension.secrets.set("via-extension", JSON.stringify({ apiKey: "kst_from_extension" }));
    const before = { extension: extension.calls, sdk: secretsManager.calls };
    expect(await viaExtension("via-extension").getApiKey()).toBe("kst_from_extension");
    expect({ extension: extension.calls - before.extension, sdk: secretsManager.calls - before.sdk }).toEqual({ extension: 1, sdk: 0 });
  });

  it("asks Secrets Manager when the extension is absent or fails, and names Secrets Manager's error", async () => {
    secretsManager.secrets.set("fallback", "kst_from_sdk");
    const closed = new FakeSecretsExtension(TOKEN);
    const closedPort = await closed.start();
    await closed.stop();
    expect(await viaExtension("fallback", closedPort).getApiKey()).toBe("kst_from_sdk");
    extension.failWith = 500;
    expect(await viaExtension("fallback").getApiKey()).toBe("kst_from_sdk");
    extension.failWith = undefined;
    // Unknown to both: the SDK's answer decides the error.
    expect((await failure(viaExtension("unknown-everywhere").getApiKey())).message).toBe(
      "cannot read the secret named by KUSTOMER_SECRET_ID: ResourceNotFoundException",
    );
  });

  it("goes past the extension's cache to Secrets Manager when the key must be refreshed (after a 401)", async () => {
    extension.secrets.set("rotated", "kst_old_cached_by_extension");
    secretsManager.secrets.set("rotated", "kst_new");
    const keys = viaExtension("rotated");
    expect(await keys.getApiKey()).toBe("kst_old_cached_by_extension");
    expect(await keys.getApiKey({ forceRefresh: true })).toBe("kst_new");
  });
});

describe("a local key (KUSTOMER_API_KEY)", () => {
  it("is used as given, and refused without being quoted when a header cannot carry it", async () => {
    expect(await new StaticApiKeyProvider("kst_local").getApiKey()).toBe("kst_local");
    expect(() => new StaticApiKeyProvider("kst with space")).toThrow(ConfigurationError);
    expect(() => new StaticApiKeyProvider("kst with space")).not.toThrow(/kst with space/);
  });
});
