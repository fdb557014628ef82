// For tests of what fails: the error a promise rejects with (and a failed test if it does not).
export async function failure(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error("expected a failure");
}
