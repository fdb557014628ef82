// A clock the test moves on: Date.now() for everything in this process (the handler, the sandbox),
// shifted by what the test adds, and restored after each test.
import { afterEach, beforeEach, type MockInstance, vi } from "vitest";

export function shiftedClock(): { shift(ms: number): void } {
  let shift = 0;
  let clock: MockInstance<() => number> | undefined;
  beforeEach(() => {
    shift = 0;
    const realNow = Date.now.bind(Date);
    clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() + shift);
  });
  afterEach(() => clock?.mockRestore());
  return {
    shift: (ms) => {
      shift += ms;
    },
  };
}
