// Logs and metrics, created once per execution environment (Powertools). Log only counts, ids,
// statuses and durations: never the key, never a customer's personal fields.
import { AsyncLocalStorage } from "node:async_hooks";
import { Logger } from "@aws-lambda-powertools/logger";
import type { ConstructorOptions } from "@aws-lambda-powertools/logger/types";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE } from "../contract/names.ts";
import type { Counters, Observation } from "../core/ports.ts";

const SERVICE = "kustomer-bulk-update";

const OBSERVATION_UNITS: Record<Observation, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  RateLimitRemaining: MetricUnit.Count,
  HeadroomWaitMs: MetricUnit.Milliseconds,
};

/** A cold start is the execution environment's: one flag, whichever invocation's logger asks first. */
let coldStart = true;

/** Powertools' Logger with that one flag for itself and every logger made from it. */
class EnvironmentLogger extends Logger {
  protected override getColdStart(): boolean {
    const cold = coldStart;
    coldStart = false;
    return cold;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new EnvironmentLogger(options);
  }
}

const rootLogger = new EnvironmentLogger({ serviceName: SERVICE });
const invocationLogger = new AsyncLocalStorage<Logger>();

/**
 * The running invocation's own logger (its request id and keys), else the environment's. Lambda runs
 * one invocation at a time, but `npm start` runs several side by side in one process: a shared logger's
 * context would be the last one set.
 */
export const logger: Logger = new Proxy(rootLogger, {
  get(root, property) {
    const active = invocationLogger.getStore() ?? root;
    const value = Reflect.get(active, property, active) as unknown;
    return typeof value === "function" ? value.bind(active) : value;
  },
});

/** Runs one invocation with a logger of its own. */
export function inInvocation<T>(run: () => Promise<T>): Promise<T> {
  return invocationLogger.run(rootLogger.createChild(), run);
}
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });

export const counters: Counters = {
  count: (name, value = 1) => {
    metrics.addMetric(name, MetricUnit.Count, value);
  },
  observe: (name, value) => {
    metrics.addMetric(name, OBSERVATION_UNITS[name], value);
  },
};

export const noCounters: Counters = { count: () => undefined, observe: () => undefined };

const rateLimitWaiters = new Set<(ms: number) => void>();

/** A local tool's progress hears each wait for Kustomer's rate limit as it starts; answers how to stop. */
export function onRateLimitWait(listener: (ms: number) => void): () => void {
  rateLimitWaiters.add(listener);
  return () => rateLimitWaiters.delete(listener);
}

export function noteRateLimitWait(ms: number): void {
  for (const listener of rateLimitWaiters) listener(ms);
}

/** Failures get their own blob, so the error name can be a dimension. */
export function countFailure(errorName: string): void {
  metrics.singleMetric().addDimension("ErrorName", errorName).addMetric("Failures", MetricUnit.Count, 1);
}

export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
