// The one concurrency idiom of the Kustomer calls: `count` tasks, at most `limit` at a time, each
// taken by exactly one worker.
export interface PoolOptions {
  /** After the first failure no new task starts (the ones running finish). */
  stopOnFailure?: boolean;
}

/** Runs the tasks; answers the first failure, if any, once every started task has ended. */
export async function inPool(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
  { stopOnFailure = false }: PoolOptions = {},
): Promise<{ error: unknown } | undefined> {
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < count && !(stopOnFailure && failure)) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return failure;
}
