// Baseline (a): what generated integration scripts do. One bare fetch PUT with the key already in
// hand: no validation, no SDK, no retries, no chunking (so commands of up to 100 items only).
export async function handler(event: { body: unknown[] }): Promise<unknown> {
  const response = await fetch(`${process.env.KUSTOMER_BASE_URL}/v1/customers/bulk`, {
    method: "PUT",
    headers: { authorization: `Bearer ${process.env.KUSTOMER_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(event.body),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}
