// The retry policy of every layer in one place, and the most times each path can send one bulk
// request to Kustomer. The client retries within an invocation; the layers above start invocations
// again. The retry table in docs/configuration.md is rendered from here (test/repository.test.ts holds it).

/** The client's attempts per request, the first included (KUSTOMER_MAX_ATTEMPTS' default). */
export const CLIENT_ATTEMPTS = 5;
/** The workflow's resubmissions after a retryable failure: only what Kustomer did not accept goes again. */
export const WORKFLOW_RESUBMITS = 5;
/** Step Functions' retries of a task that failed with a retryable error or a Lambda fault. */
export const TASK_RETRIES = 6;
/** Step Functions' retries of a task Lambda throttled: the function never ran, so nothing was sent. */
export const THROTTLE_RETRIES = 40;
/** Lambda's retries of an asynchronous invocation, before its record goes to the failed-deliveries queue. */
export const ASYNC_RETRIES = 2;
/** Receives of a queued command before it goes to the dead-letter queue: its consumer only starts a workflow run. */
export const QUEUE_RECEIVES = 5;
/** EventBridge's retries of a rule's delivery (to the burst queue, to the job), within 24 hours. */
export const EVENT_DELIVERY_RETRIES = 185;

/** Each path, the layers that may send a request again, and the most tries of one request they make. */
export const RETRY_PATHS: ReadonlyArray<{ path: string; layers: string; tries: number }> = [
  { path: "HTTP, synchronous invoke", layers: `client ${CLIENT_ATTEMPTS} attempts`, tries: CLIENT_ATTEMPTS },
  {
    path: "asynchronous invoke",
    layers: `client ${CLIENT_ATTEMPTS} x (1 + Lambda's ${ASYNC_RETRIES} retries)`,
    tries: CLIENT_ATTEMPTS * (1 + ASYNC_RETRIES),
  },
  {
    path: "bus event, burst queue, workflow",
    layers: `client ${CLIENT_ATTEMPTS} x (1 + ${WORKFLOW_RESUBMITS} resubmissions); the function answers its errors, so task retries (${TASK_RETRIES}) follow only Lambda's own faults; queue receives (${QUEUE_RECEIVES}) and rule deliveries (${EVENT_DELIVERY_RETRIES}) only start runs`,
    tries: CLIENT_ATTEMPTS * (1 + WORKFLOW_RESUBMITS),
  },
  {
    path: "job batch",
    layers: `client ${CLIENT_ATTEMPTS} x (1 + ${TASK_RETRIES} task retries); a batch is retried only when nothing it sent is in doubt`,
    tries: CLIENT_ATTEMPTS * (1 + TASK_RETRIES),
  },
];

/** The table in docs/configuration.md. */
export function retryTable(): string {
  return [
    "| path | who sends a request again | most tries of one request |",
    "| --- | --- | --- |",
    ...RETRY_PATHS.map(({ path, layers, tries }) => `| ${path} | ${layers} | ${tries} |`),
  ].join("\n");
}
