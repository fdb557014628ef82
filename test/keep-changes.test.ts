// The follow-up's writes to the change ledger (CONTRACT §2.7), against a ledger that fails on
// purpose: one failed write never keeps the others, the doubts first, from being made.
import { describe, expect, it } from "vitest";
import { type ChangeLedger, compare } from "../lambda/core/changes.ts";
import { keepChanges } from "../lambda/core/keep-changes.ts";

const quiet = { warn: () => {}, info: () => {}, debug: () => {}, error: () => {} };

describe("keeping what a follow-up learned", () => {
  it("drops the doubts even when making the applied ones current fails", async () => {
    const calls: string[] = [];
    const ledger: ChangeLedger = {
      of: () => ledger,
      current: async () => new Map(),
      pendingOf: async () => new Map(),
      pending: async () => {},
      applied: async () => {
        calls.push("applied");
        throw new Error("throttled");
      },
      failed: async () => {
        calls.push("failed");
      },
      inDoubt: async () => {
        calls.push("inDoubt");
      },
    };
    await keepChanges(
      "b-1",
      [
        { id: "a", hashes: { name: "h" }, state: "applied" },
        { id: "b", hashes: { name: "h" }, state: "inDoubt" },
      ],
      { ledger, log: quiet as never, deadlineAt: Date.now() + 1_000 },
    );
    expect(calls).toEqual(["inDoubt", "applied", "failed"]);
  });
});

describe("comparing", () => {
  it("sends whole only a customer with no record: one whose every field changed keeps its record, and its time to live", () => {
    expect(compare({ name: "n2" }, undefined)).toEqual({ kind: "whole" });
    expect(compare({ name: "n2" }, { name: "n1", tags: "t1" })).toEqual({ kind: "fields", fields: ["name"] });
    expect(compare({ name: "n1" }, { name: "n1", tags: "t1" })).toEqual({ kind: "unchanged" });
  });
});
