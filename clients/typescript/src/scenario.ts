// The README's tour, driven through the generated client against a running server:
// LEDGERFLOW_URL and LEDGERFLOW_API_KEY (an owner key) name it. Exits 1 on the first
// answer that is not what the tour expects.
import { createLedgerflowClient, readAuditLog, type Schemas } from "./client.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`scenario: ${what}`);
}

const baseUrl = env("LEDGERFLOW_URL");
const owner = createLedgerflowClient(baseUrl, env("LEDGERFLOW_API_KEY"));

const first: Schemas["Definition"] = {
  name: "nightly-etl",
  steps: [
    { id: "fetch", type: "http_request", config: { url: "https://example.com/data" } },
    { id: "notify", type: "webhook", config: { url: "https://hooks.example.com" }, depends_on: ["fetch"] },
  ],
};
const second: Schemas["Definition"] = {
  name: "nightly-etl",
  steps: [
    { id: "fetch", type: "http_request", config: { url: "https://example.com/data" } },
    { id: "report", type: "agent_task" },
    { id: "notify", type: "webhook", config: { url: "https://hooks.example.com" }, depends_on: ["fetch"] },
  ],
};

async function main(): Promise<void> {
  // Create: version 1, its ETag and Location.
  const created = await owner.POST("/api/workflows", {
    body: { definition: first, trigger_type: "manual", tags: ["etl"] },
  });
  check(created.response.status === 201 && created.data !== undefined, "create answers 201");
  const id = created.data.id;
  check(created.data.workflow.version === 1, "a new workflow is at version 1");
  check(created.response.headers.get("ETag") === '"1"', "create sends ETag \"1\"");
  check(created.response.headers.get("Location") === `/api/workflows/${id}`, "create sends Location");

  // A create retried under the same Idempotency-Key answers the same workflow.
  const once = { definition: { name: "once", steps: [{ id: "a", type: "agent_task" }] } };
  const made = await owner.POST("/api/workflows", {
    params: { header: { "Idempotency-Key": "scenario-once" } },
    body: once,
  });
  const retried = await owner.POST("/api/workflows", {
    params: { header: { "Idempotency-Key": "scenario-once" } },
    body: once,
  });
  check(made.data !== undefined && retried.data?.id === made.data.id, "a retry makes no second workflow");
  check(retried.response.headers.get("Idempotent-Replayed") === "true", "the retry says it was replayed");

  // Update with If-Match; a stale If-Match is a version conflict.
  const updated = await owner.PUT("/api/workflows/{id}", {
    params: { path: { id }, header: { "If-Match": '"1"' } },
    body: { definition: second, change_summary: "add report" },
  });
  check(updated.data?.version === 2, "update writes version 2");
  const stale = await owner.PUT("/api/workflows/{id}", {
    params: { path: { id }, header: { "If-Match": '"1"' } },
    body: { definition: first },
  });
  check(stale.response.status === 409, "a stale If-Match answers 409");
  check(stale.error?.error.code === "version_conflict", "the conflict says version_conflict");

  // Merge patch of the definition's metadata: version 3.
  const patched = await owner.PATCH("/api/workflows/{id}", {
    params: { path: { id } },
    body: { definition: { metadata: { owner: "ops" } } },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  check(patched.data?.version === 3, "merge patch writes version 3");
  check(patched.data.definition.metadata?.["owner"] === "ops", "the patch reached the definition");

  // History, newest first, paged.
  const page = await owner.GET("/api/workflows/{id}/versions", {
    params: { path: { id }, query: { limit: 2, offset: 0 } },
  });
  check(page.data?.total === 3, "three versions");
  check(page.data.versions.length === 2 && page.data.versions[0]?.version === 3, "newest first");
  const v2 = await owner.GET("/api/workflows/{id}/versions/{version}", {
    params: { path: { id, version: 2 } },
  });
  check(v2.data?.change_summary === "add report", "version 2 keeps its change summary");

  // The diff from 1 to 3 adds the report step and the metadata.
  const diff = await owner.GET("/api/workflows/{id}/diff", {
    params: { path: { id }, query: { v1: 1, v2: 3 } },
  });
  check(diff.data !== undefined && diff.data.v1 === 1 && diff.data.v2 === 3, "diff answers");
  check(diff.data.diff.some((op) => op.op === "add" && op.path === "/steps/1"), "diff adds /steps/1");

  // Roll back to version 1: version 4 equals version 1.
  const rolled = await owner.POST("/api/workflows/{id}/rollback", {
    params: { path: { id } },
    body: { version: 1 },
  });
  check(rolled.data?.version === 4, "rollback writes version 4");
  check(JSON.stringify(rolled.data.definition) === JSON.stringify(first), "version 4 is version 1");
  const current = await owner.GET("/api/workflows/{id}", { params: { path: { id } } });
  check(current.response.headers.get("ETag") === '"4"', "the ETag follows the version");
  const unchanged = await owner.GET("/api/workflows/{id}", {
    params: { path: { id }, header: { "If-None-Match": '"4"' } },
  });
  check(unchanged.response.status === 304, "a current If-None-Match answers 304");

  // A viewer key reads but cannot write.
  const key = await owner.POST("/api/keys", { body: { name: "auditor", role: "viewer" } });
  check(key.response.status === 201 && key.data !== undefined, "key create answers 201");
  check(key.data.key.role === "viewer", "the key is a viewer");
  const viewer = createLedgerflowClient(baseUrl, key.data.secret);
  const denied = await viewer.POST("/api/workflows", { body: { definition: first } });
  check(denied.response.status === 403 && denied.error?.error.code === "forbidden",
        "a viewer's create answers 403 forbidden");
  const read = await viewer.GET("/api/workflows", { params: { query: { tag: "etl" } } });
  // (the tag leaves out the scenario's other workflow)
  check(read.data?.total === 1 && read.data.workflows[0]?.id === id, "a viewer lists workflows");
  const keys = await owner.GET("/api/keys");
  check(keys.data?.keys.some((k) => k.id === key.data.key.id && !k.revoked) === true, "keys list");

  // Audit paging to the end with the cursor.
  const paged = await readAuditLog(viewer, 3);
  check(paged.some((e) => e.type === "workflow.created" && e.stream === `workflow-${id}`),
        "the audit log holds the create");

  // The NDJSON export holds the same events, byte for byte as stored.
  const exported = await viewer.GET("/api/audit/events", {
    params: { query: { format: "ndjson" } },
    parseAs: "text",
  });
  check(exported.response.headers.get("Content-Type") === "application/x-ndjson", "export is NDJSON");
  const lines = (exported.data ?? "").split("\n").filter((line) => line.length > 0);
  check(lines.length === paged.length, `export has ${lines.length} lines, pages ${paged.length}`);

  // The chain verifies, and its head is the last event paged.
  const verified = await viewer.GET("/api/audit/verify");
  check(verified.data?.ok === true, "the chain verifies");
  check(verified.data.checked === paged.length, "every event was checked");
  check(verified.data.head_hash === paged[paged.length - 1]?.hash, "the head is the last event");

  // A run: dispatched under an idempotency key (a retry answers the same run), then
  // polled until it completes, with each step's output.
  const runnable = await owner.POST("/api/workflows", {
    body: { definition: { name: "scenario-run", steps: [
      { id: "check", type: "condition", config: { expression: "input.n > 1" } },
      { id: "pause", type: "wait", depends_on: ["check"], config: { seconds: 0 } },
    ] } },
  });
  check(runnable.data !== undefined, "the runnable workflow is created");
  const dispatchBody = { input_data: { n: 2 }, reason: "scenario" };
  const dispatched = await owner.POST("/api/workflows/{id}/runs", {
    params: { path: { id: runnable.data.id }, header: { "Idempotency-Key": "scenario-run-1" } },
    body: dispatchBody,
  });
  check(dispatched.response.status === 202 && dispatched.data?.status === "pending", "dispatch answers 202 pending");
  const runId = dispatched.data.run_id;
  const again = await owner.POST("/api/workflows/{id}/runs", {
    params: { path: { id: runnable.data.id }, header: { "Idempotency-Key": "scenario-run-1" } },
    body: dispatchBody,
  });
  check(again.response.status === 200 && again.data?.run_id === runId && again.data.deduplicated === true,
        "a retry answers the same run");
  let finished: Schemas["Run"] | undefined;
  for (let i = 0; i < 500 && finished === undefined; ++i) {
    const got = await viewer.GET("/api/workflows/runs/{run_id}", { params: { path: { run_id: runId } } });
    const run = got.data?.run;
    if (run !== undefined && (run.status === "completed" || run.status === "failed")) finished = run;
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
  check(finished?.status === "completed", "the run completes");
  check(finished.step_runs.map((s) => s.step_id).join(",") === "check,pause", "the run shows its steps");
  const searched = await viewer.GET("/api/workflows/runs", { params: { query: { status: "completed", q: "scenario" } } });
  check(searched.data?.runs.some((r) => r.id === runId) === true, "the search finds the run");

  // A revoked key is refused from then on.
  const revoked = await owner.DELETE("/api/keys/{id}", { params: { path: { id: key.data.key.id } } });
  check(revoked.data?.ok === true, "revoke answers ok");
  const refused = await viewer.GET("/api/workflows");
  check(refused.response.status === 401, "a revoked key answers 401");
  check(refused.response.headers.get("WWW-Authenticate")?.startsWith("Bearer") === true,
        "a 401 carries the Bearer challenge");

  console.log(`scenario passed: workflow ${id}, ${paged.length} events verified`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
