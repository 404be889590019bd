// A typed Ledgerflow client: the types are generated from the server's own OpenAPI
// document (npm run generate), the requests go through openapi-fetch.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

export type Schemas = components["schemas"];
export type LedgerflowClient = ReturnType<typeof createClient<paths>>;

export function createLedgerflowClient(baseUrl: string, apiKey: string): LedgerflowClient {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}
