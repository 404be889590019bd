// A typed Ledgerflow client: the types are generated from the server's own OpenAPI
// document (npm run generate), the requests go through openapi-fetch.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

export type Schemas = components["schemas"];
export type LedgerflowClient = ReturnType<typeof createClient<paths>>;

export function createLedgerflowClient(baseUrl: string, apiKey: string): LedgerflowClient {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}

// Every audit event the client's key can see, in log order, following the cursor
// (`next_after`) page by page until it is null. Throws on an answer that is not a page.
export async function readAuditLog(
  client: LedgerflowClient,
  pageSize: number,
): Promise<Schemas["AuditEvent"][]> {
  const events: Schemas["AuditEvent"][] = [];
  let after = 0;
  for (;;) {
    const page = await client.GET("/api/audit/events", { params: { query: { after, limit: pageSize } } });
    // The operation answers a page (JSON) or the export (NDJSON): this is the page.
    const body = page.data;
    if (body === undefined || !("events" in body)) {
      throw new Error(`audit page after ${after} answered ${page.response.status}`);
    }
    events.push(...body.events);
    if (body.next_after === null) return events;
    after = body.next_after;
  }
}
