// Each delivery applied once (CONTRACT §2.4): a command with an idempotency key is submitted at most
// once per key within IDEMPOTENCY_TTL_SECONDS, with Powertools Idempotency on DynamoDB. A repeat
// answers the first result; the same key with another command, or while the first is still in flight,
// is refused; a failure is not remembered. Powertools and the DynamoDB client are loaded only when a
// table is configured, on the first keyed command.
import type { Context } from "aws-lambda";
import { IdempotencyConflictError, IdempotencyUnavailableError } from "../../contract/errors.ts";
import { IDEMPOTENCY_KEY_PREFIX } from "../../contract/names.ts";

export interface Idempotency {
  /** Runs `run` unless `request` already ran under `key`; then answers that first result. */
  once<T>(key: string, request: unknown, run: () => Promise<T>, options: OnceOptions<T>): Promise<T>;
}

export interface OnceOptions<T> {
  /** No table call holds the answer past this (epoch ms): Kustomer's calls are bounded by it too. */
  deadlineAt: number;
  context?: Context;
  /** What the table keeps of a result, and the result again from that. */
  toRecord?: (value: T) => unknown;
  fromRecord?: (record: unknown) => T;
}

const TIMED_OUT = Symbol("timed out");
/** How long past the deadline a slow table may still save a result: within the time kept back to answer. */
const SAVE_GRACE_MS = 300;

export class DynamoDbIdempotency implements Idempotency {
  private store?: Promise<import("@aws-lambda-powertools/idempotency/dynamodb").DynamoDBPersistenceLayer>;

  constructor(
    private readonly tableName: string,
    private readonly ttlSeconds: number,
  ) {}

  async once<T>(
    key: string,
    request: unknown,
    run: () => Promise<T>,
    { deadlineAt, context, toRecord, fromRecord }: OnceOptions<T>,
  ): Promise<T> {
    const powertools = await import("@aws-lambda-powertools/idempotency");
    this.store ??= import("@aws-lambda-powertools/idempotency/dynamodb").then(
      ({ DynamoDBPersistenceLayer }) => new DynamoDBPersistenceLayer({ tableName: this.tableName }),
    );
    const config = new powertools.IdempotencyConfig({
      eventKeyJmesPath: "key",
      payloadValidationJmesPath: "request",
      expiresAfterSeconds: this.ttlSeconds,
    });
    // A first request cut off by the Lambda timeout must not block its key until the record expires.
    if (context) config.registerLambdaContext(context);
    // What Kustomer answered, once it has: the truth, whatever the table does afterwards (CONTRACT §2.4).
    let answered: { value: T } | { error: unknown } | undefined;
    let started = false;
    let tooLate = false;
    let heard: () => void = () => {};
    const kustomerAnswered = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const applyOnce = powertools.makeIdempotent(
      async (_delivery: { key: string; request: unknown }) => {
        // The table answered the claim after the caller was told nothing was sent: nothing is.
        if (tooLate) throw new IdempotencyUnavailableError("the idempotency table answered too late; nothing was sent");
        started = true;
        try {
          const value = await run();
          answered = { value };
          return toRecord ? toRecord(value) : value;
        } catch (error) {
          answered = { error };
          throw error;
        } finally {
          heard();
        }
      },
      // A fixed prefix (not the generated function name), so the stack can hold each function to its own keys.
      { persistenceStore: await this.store, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
    );
    const answerOf = (value: { value: T } | { error: unknown }): T => {
      if ("value" in value) return value.value;
      throw value.error;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, deadlineAt - Date.now()));
    });
    const attempt = applyOnce({ key, request }).then(
      (record) => ({ value: answered && "value" in answered ? answered.value : fromRecord ? fromRecord(record) : (record as T) }),
      (error: unknown) => ({ error }),
    );
    try {
      const outcome = await Promise.race([attempt, deadline]);
      if (outcome === TIMED_OUT) {
        if (!started) {
          tooLate = true;
          throw new IdempotencyUnavailableError(
            "the idempotency table did not answer in time; nothing was sent: sending the same request again is safe",
          );
        }
        // Sending began: Kustomer's answer comes within the same deadline, whatever the table does. The
        // record gets a last moment of the time kept back to answer: saved, a retry finds the result.
        await kustomerAnswered;
        await Promise.race([attempt, new Promise((resolve) => setTimeout(resolve, SAVE_GRACE_MS).unref())]);
        return answerOf(answered as { value: T } | { error: unknown });
      }
      if ("value" in outcome) return outcome.value;
      return this.failureOf(powertools, outcome.error, answered);
    } finally {
      clearTimeout(timer);
    }
  }

  private failureOf<T>(
    powertools: typeof import("@aws-lambda-powertools/idempotency"),
    error: unknown,
    answered: { value: T } | { error: unknown } | undefined,
  ): T {
    // The table failed to record the result, or to forget a failure: the caller still gets the answer.
    if (answered && !("error" in answered && answered.error === error)) {
      if ("value" in answered) return answered.value;
      throw answered.error;
    }
    if (error instanceof powertools.IdempotencyValidationError) {
      throw new IdempotencyConflictError("this idempotency key was used with a different command: use a new key for a new command", {
        inFlight: false,
        cause: error,
      });
    }
    if (error instanceof powertools.IdempotencyAlreadyInProgressError) {
      throw new IdempotencyConflictError("a request with this idempotency key is still in flight: send it again later", {
        inFlight: true,
        cause: error,
      });
    }
    // The table failed: before the command was sent (nothing sent), or while remembering its result.
    // Either way the caller sends it again, which is safe: a bulk update is idempotent.
    if (error instanceof powertools.IdempotencyUnknownError) {
      throw new IdempotencyUnavailableError(
        `the idempotency table could not be used (${error.name}); sending the same request again is safe`,
        { cause: error },
      );
    }
    throw error;
  }
}
