-- GET over a set of ids, round robin, each thread starting at another offset.
-- Environment: LOAD_PATH (a prefix, e.g. /api/workflows/; or a fixed path when
-- LOAD_IDS is unset), LOAD_IDS (file of ids, one per line), LOAD_KEY (API key).
local prefix = os.getenv("LOAD_PATH") or "/api/workflows/"
local key = os.getenv("LOAD_KEY")
local ids_file = os.getenv("LOAD_IDS")

local headers = {}
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end

local paths = {}
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do
    if line ~= "" then table.insert(paths, prefix .. line) end
  end
else
  table.insert(paths, prefix)
end

local threads = {}
local next_index = 1

function setup(thread)
  thread:set("start", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  next_index = ((start or 0) % #paths) + 1
end

function request()
  local p = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", p, headers)
end

dofile((os.getenv("LOAD_LUA_DIR") or "bench/wrk") .. "/report.lua")
