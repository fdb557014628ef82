import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../lambda/contract/errors.ts";
import { CONFIG_VARIABLES, loadConfig } from "../lambda/platform/config.ts";

function configError(environment: Record<string, string>): ConfigurationError {
  try {
    loadConfig(environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error("expected a ConfigurationError");
}

describe("configuration", () => {
  it("has the contract's defaults", () => {
    expect(loadConfig({ KUSTOMER_SECRET_ID: "kustomer/api-key" })).toEqual({
      apiKeySource: { kind: "secret", secretId: "kustomer/api-key", field: "apiKey" },
      baseUrl: "https://api.kustomerapp.com",
      timeoutMs: 10_000,
      maxAttempts: 5,
      concurrency: 4,
      rateLimitHeadroom: 0.2,
      secretTtlMs: 300_000,
      maxItems: 10_000,
      notFoundGraceMs: 300_000,
    });
  });

  it("uses the secrets extension's port when its layer sets one, and refuses a port that cannot be one", () => {
    expect(loadConfig({ KUSTOMER_SECRET_ID: "k", PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773" }).apiKeySource).toEqual({
      kind: "secret",
      secretId: "k",
      field: "apiKey",
      extensionPort: 2773,
    });
    expect(configError({ KUSTOMER_SECRET_ID: "k", PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "70000" }).message).toContain(
      "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT must be a port number from 1 to 65535",
    );
  });

  it("reads the workflow's state machine and the results bucket, refusing what cannot be one", () => {
    const arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:KustomerBulkUpdate-workflow";
    expect(loadConfig({ KUSTOMER_SECRET_ID: "k", WORKFLOW_STATE_MACHINE_ARN: arn, RESULTS_BUCKET_NAME: "kbu-jobs-1" })).toMatchObject({
      workflowStateMachineArn: arn,
      resultsBucketName: "kbu-jobs-1",
    });
    expect(
      configError({ KUSTOMER_SECRET_ID: "k", WORKFLOW_STATE_MACHINE_ARN: "arn:aws:lambda:eu-west-1:123456789012:function:f" }).message,
    ).toContain("WORKFLOW_STATE_MACHINE_ARN must be a state machine ARN");
    expect(configError({ KUSTOMER_SECRET_ID: "k", RESULTS_BUCKET_NAME: "Not_A_Bucket" }).message).toContain(
      "RESULTS_BUCKET_NAME must be an S3 bucket name",
    );
  });

  it("reads every variable, and treats empty ones as unset", () => {
    const config = loadConfig({
      KUSTOMER_SECRET_ID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf",
      KUSTOMER_SECRET_FIELD: "token",
      KUSTOMER_BASE_URL: "https://acme.api.kustomerapp.com/",
      KUSTOMER_TIMEOUT_MS: "2500",
      KUSTOMER_MAX_ATTEMPTS: "3",
      SECRET_TTL_SECONDS: "60",
      MAX_ITEMS: "",
    });
    expect(config).toMatchObject({
      apiKeySource: { field: "token" },
      baseUrl: "https://acme.api.kustomerapp.com",
      timeoutMs: 2500,
      maxAttempts: 3,
      secretTtlMs: 60_000,
      maxItems: 10_000,
    });
  });

  it("prefers the secret to a local key, and takes the local key when there is no secret", () => {
    expect(loadConfig({ KUSTOMER_SECRET_ID: "s", KUSTOMER_API_KEY: "local" }).apiKeySource.kind).toBe("secret");
    expect(loadConfig({ KUSTOMER_API_KEY: "local" }).apiKeySource).toEqual({ kind: "environment", apiKey: "local" });
  });

  it("names the variable that is wrong, and never quotes its value", () => {
    const error = configError({ KUSTOMER_API_KEY: "kst_value_that_must_not_leak", KUSTOMER_TIMEOUT_MS: "10s", MAX_ITEMS: "0" });
    expect(error.message).toContain("KUSTOMER_TIMEOUT_MS must be a whole number from 100 to 900000");
    expect(error.message).toContain("MAX_ITEMS must be a whole number from 1 to 10000");
    expect(error.message).not.toContain("kst_value_that_must_not_leak");
    expect(error.message).not.toContain("10s");
  });

  it("keeps a share of the org's rate budget free: 0 turns it off", () => {
    const base = { KUSTOMER_SECRET_ID: "s" };
    expect(loadConfig({ ...base, KUSTOMER_RATE_LIMIT_HEADROOM: "0" }).rateLimitHeadroom).toBe(0);
    expect(loadConfig({ ...base, KUSTOMER_RATE_LIMIT_HEADROOM: "0.35" }).rateLimitHeadroom).toBe(0.35);
  });

  it.each(["1", "-0.1", "20%"])("refuses a rate budget headroom of %s: 0.9 at most", (value) => {
    expect(configError({ KUSTOMER_SECRET_ID: "s", KUSTOMER_RATE_LIMIT_HEADROOM: value }).message).toContain(
      "KUSTOMER_RATE_LIMIT_HEADROOM must be a number from 0 to 0.9",
    );
  });

  it("requires a secret id (or, locally, a key)", () => {
    expect(configError({}).message).toContain("KUSTOMER_SECRET_ID is required");
  });

  it.each([
    ["plain http", "http://api.kustomerapp.com", "KUSTOMER_BASE_URL must use https"],
    ["no scheme", "api.kustomerapp.com", "KUSTOMER_BASE_URL must be an absolute URL"],
    ["a path", "https://api.kustomerapp.com/v1", "bare origin"],
  ])("refuses a base URL with %s", (_case, url, message) => {
    expect(configError({ KUSTOMER_SECRET_ID: "s", KUSTOMER_BASE_URL: url }).message).toContain(message);
  });

  it("never quotes a base URL's credentials", () => {
    expect(configError({ KUSTOMER_SECRET_ID: "s", KUSTOMER_BASE_URL: "https://user:pw@api.kustomerapp.com" }).message).not.toContain("pw");
  });

  it.each([
    "http://127.0.0.1:4010",
    "http://localhost:4010",
    "http://[::1]:4010",
    "https://api.kustomerapp.com",
    "https://api.prod2.kustomerapp.com",
    "https://acme.api.kustomerapp.com",
  ])("sends the key to %s (a Kustomer host over https, or loopback)", (url) => {
    expect(loadConfig({ KUSTOMER_SECRET_ID: "s", KUSTOMER_BASE_URL: url }).baseUrl).toBe(url);
  });

  it.each(["https://kustomerapp.com.evil.example", "https://evilkustomerapp.com", "https://proxy.internal.example"])(
    "never sends the key to %s unless it is listed",
    (url) => {
      expect(configError({ KUSTOMER_SECRET_ID: "s", KUSTOMER_BASE_URL: url }).message).toContain(
        "KUSTOMER_BASE_URL must be a Kustomer host",
      );
    },
  );

  it("sends the key to a host listed explicitly", () => {
    expect(
      loadConfig({
        KUSTOMER_SECRET_ID: "s",
        KUSTOMER_BASE_URL: "https://proxy.internal.example",
        KUSTOMER_ALLOWED_HOSTS: "proxy.internal.example",
      }).baseUrl,
    ).toBe("https://proxy.internal.example");
  });
});

describe("the list of variables", () => {
  it("names every variable of CONTRACT §5 the function reads, and the two the stack sets for the workflow, so tests can reset them all", () => {
    expect([...CONFIG_VARIABLES].sort()).toEqual([
      "CHANGES_TABLE_NAME",
      "CHANGES_TTL_DAYS",
      "DEAD_LETTER_QUEUE_URL",
      "IDEMPOTENCY_TABLE_NAME",
      "IDEMPOTENCY_TTL_SECONDS",
      "KUSTOMER_ALLOWED_HOSTS",
      "KUSTOMER_API_KEY",
      "KUSTOMER_BASE_URL",
      "KUSTOMER_CONCURRENCY",
      "KUSTOMER_MAX_ATTEMPTS",
      "KUSTOMER_NOT_FOUND_GRACE_SECONDS",
      "KUSTOMER_RATE_LIMIT_HEADROOM",
      "KUSTOMER_SECRET_FIELD",
      "KUSTOMER_SECRET_ID",
      "KUSTOMER_TIMEOUT_MS",
      "MAX_ITEMS",
      "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
      "RESULTS_BUCKET_NAME",
      "SECRET_TTL_SECONDS",
      "WORKFLOW_STATE_MACHINE_ARN",
    ]);
  });
});
