// Baseline (b): a conventional Powertools handler: the Parser utility with the same zod schema, the
// Parameters utility for the secret, then one fetch PUT.
import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import { parse } from "@aws-lambda-powertools/parser";
import { customer } from "../../lambda/contract/objects/customer.ts";
import { commandSchemaOf } from "../../lambda/contract/requests.ts";

export async function handler(event: unknown): Promise<unknown> {
  const command = parse(event, undefined, commandSchemaOf(customer));
  const secret = await getSecret<{ apiKey: string }>(process.env.KUSTOMER_SECRET_ID as string, { transform: "json", maxAge: 300 });
  const response = await fetch(`${process.env.KUSTOMER_BASE_URL}/v1/customers/bulk`, {
    method: "PUT",
    headers: { authorization: `Bearer ${secret?.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(command.body),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}
