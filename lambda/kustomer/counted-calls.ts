// One invocation's calls to Kustomer, counted from what each answers: the retries its summary line
// reports. The client lives for the execution environment, and a local server runs requests side by
// side, so no count is read off the client itself.
import type * as z from "zod/mini";
import type { KustomerRequest } from "./answer.ts";
import type { KustomerApi, Sent } from "./client.ts";

export class CountedCalls implements KustomerApi {
  retries = 0;

  constructor(private readonly api: KustomerApi) {}

  async send<T>(request: KustomerRequest, schema: z.ZodMiniType<T>, deadlineAt: number): Promise<Sent<T>> {
    const sent = await this.api.send(request, schema, deadlineAt);
    this.retries += sent.attempts - 1;
    return sent;
  }
}
