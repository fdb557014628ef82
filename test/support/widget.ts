// A made-up Kustomer object, written as lambda/contract/objects/ would hold a second one, and never
// shipped: test/second-object.test.ts lists it beside the customer to show what one file buys.
import * as z from "zod/mini";
import { custom, list, nullableText, objectId, text } from "../../lambda/contract/objects/fields.ts";
import { defineObject } from "../../lambda/contract/objects/kustomer-object.ts";

export const widget = defineObject({
  name: "widget",
  plural: "widgets",
  title: "Widget",
  update: z.strictObject({
    id: objectId,
    label: nullableText,
    sizeNum: z.optional(z.number().check(z.positive())),
    tags: list(text(1)),
    custom: z.optional(custom),
  }),
  role: "org.permission.widget.update",
});
