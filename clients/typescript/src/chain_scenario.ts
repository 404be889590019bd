// An auditor's check, in another language than the server's: every event of the org,
// read from the JSON audit API, re-hashed with an npm RFC 8785 implementation
// (canonicalize) and linked to the one before. Writes data that naive re-serialization
// gets wrong first: 1.0, member names "10" and "2", escapes, non-ASCII, large integers.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { createLedgerflowClient, readAuditLog } from "./client.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`chain scenario: ${what}`);
}

// canonicalize is CommonJS (module.exports is the function) but typed as an ES default
// export, which tsc's NodeNext resolution cannot call: load it as what it is.
const canonicalize: (input: unknown) => string | undefined =
  createRequire(import.meta.url)("canonicalize");

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

const client = createLedgerflowClient(env("LEDGERFLOW_URL"), env("LEDGERFLOW_API_KEY"));

async function main(): Promise<void> {
  // The body is sent as raw text so that 1.0 and the member order reach the server as
  // written (JSON.stringify would already print 1.0 as 1).
  const raw =
    '{"definition":{"name":"chain-check","metadata":{"10":"ten","2":"two","ratio":1.0,' +
    '"big":9007199254740991,"small":-1e-7,"exp":1E21,"text":"tab\\t quote\\" é ü 😀 \\u2028",' +
    '"nested":{"b":[1.50,{"z":null,"a":true}],"a":false}},' +
    '"steps":[{"id":"a","type":"agent_task"}]},"tags":["audit"]}';
  const created = await client.POST("/api/workflows", {
    body: { definition: { name: "placeholder", steps: [] } },
    bodySerializer: () => raw,
  });
  check(created.response.status === 201 && created.data !== undefined, "create answers 201");

  // A number JavaScript cannot hold exactly is refused, so nothing unverifiable is stored.
  const refused = await client.POST("/api/workflows", {
    body: { definition: { name: "placeholder", steps: [] } },
    bodySerializer: () => '{"definition":{"name":"x","steps":[],"metadata":{"n":9007199254740993}}}',
  });
  check(refused.response.status === 400 && refused.error?.error.code === "number_out_of_range",
        "an integer beyond 2^53 is 400 number_out_of_range");

  const edited = await client.PATCH("/api/workflows/{id}", {
    params: { path: { id: created.data.id } },
    body: { description: "línea\nnueva", tags: ["audit", "10", "2"] },
  });
  check(edited.response.status === 200, "patch answers 200");

  // Every event of the org, page by page, in log order.
  const events = await readAuditLog(client, 2);
  check(events.length >= 4, `the org has its events (${events.length})`);

  let prev = "";
  for (const event of events) {
    const { hash, ...hashed } = event;
    check(event.chain === 2, `event ${event.position} is written under chain 2`);
    check(event.prev_hash === prev, `event ${event.position} links to the one before`);
    const bytes = canonicalize(hashed);
    check(bytes !== undefined, `event ${event.position} canonicalizes`);
    check(sha256(prev + bytes) === hash, `event ${event.position} re-hashes to its hash`);
    prev = hash;
  }
  const verified = await client.GET("/api/audit/verify");
  check(verified.data?.ok === true && verified.data.head_hash === prev,
        "the server's verification ends at the same head");
  console.log(`chain scenario passed: ${events.length} events re-hashed with RFC 8785`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
