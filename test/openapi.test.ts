import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, renderOpenApiDocument } from "../tools/openapi.ts";

describe("openapi.json", () => {
  it("is up to date with the zod schemas (run npm run openapi)", () => {
    expect(readFileSync(new URL("../openapi.json", import.meta.url), "utf8")).toBe(renderOpenApiDocument());
  });

  it("describes both routes and every field of Kustomer's bulk-update item", () => {
    const document = buildOpenApiDocument();
    expect(Object.keys(document.paths)).toEqual(["/customers/bulk", "/bulk/{bulkId}"]);
    const item = (document.components.schemas as Record<string, unknown>).CustomerUpdate as any;
    expect(item.required).toEqual(["id"]);
    expect(item.additionalProperties).toBe(false);
    expect(Object.keys(item.properties)).toEqual(
      expect.arrayContaining(["emails", "sharedPhones", "socials", "locations", "custom", "sentiment", "rev"]),
    );
    expect(item.properties.emails.items.properties.type.enum).toEqual(["home", "work", "other"]);
    expect(item.properties.sentiment.properties.polarity.enum).toEqual([-1, 0, 1]);
    expect((document.components.schemas.Error as any).properties.error.properties.name.enum).toContain("KustomerRateLimitError");
  });
});
