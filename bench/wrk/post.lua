-- POST a ~0.5 KB workflow-creation body with a unique name per request.
-- Environment: LOAD_PATH (default /api/workflows), LOAD_KEY (API key; none for the
-- bare server). The body is the same for the bare server and for Ledgerflow.
local path = os.getenv("LOAD_PATH") or "/api/workflows"
local key = os.getenv("LOAD_KEY")

local headers = { ["Content-Type"] = "application/json" }
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end

-- Fixed-width unique names keep every body the same size.
local template = '{"definition":{"name":"load-%s-%010d","steps":[' ..
  '{"id":"fetch","type":"http_request","config":{"url":"https://example.com/api/orders",' ..
  '"method":"GET","headers":{"accept":"application/json"}}},' ..
  '{"id":"notify","type":"http_request","depends_on":["fetch"],"config":' ..
  '{"url":"https://example.com/hooks/notify","method":"POST",' ..
  '"headers":{"content-type":"application/json"},"timeout_seconds":10}}]},' ..
  '"trigger_type":"manual","tags":["bench","load"],' ..
  '"description":"load benchmark workflow, created by bench/wrk/post.lua"}'

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tag", "t" .. #threads .. "-" .. tostring(os.time()))
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, headers, string.format(template, tag, counter))
end

dofile((os.getenv("LOAD_LUA_DIR") or "bench/wrk") .. "/report.lua")
