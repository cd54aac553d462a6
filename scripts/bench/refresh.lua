-- POST /user/refresh. Each refresh token works once, so every thread keeps a
-- pool of live tokens (one per login, from the file in REFRESH_TOKENS) and
-- puts each answer's successor back into it.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  pool = {}
  local all = {}
  for line in io.lines(os.getenv("REFRESH_TOKENS")) do
    table.insert(all, line)
  end
  local n = tonumber(os.getenv("WRK_THREADS"))
  for i, token in ipairs(all) do
    if (i - 1) % n == id then
      table.insert(pool, token)
    end
  end
end

function request()
  local token = table.remove(pool) or "exhausted.pool"
  return wrk.format("POST", "/user/refresh", {["Content-Type"] = "application/json"},
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  local successor = body:match('"refreshToken":"([^"]+)"')
  if successor then
    table.insert(pool, successor)
  end
end
