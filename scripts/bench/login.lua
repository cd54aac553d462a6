-- POST /user/login with correct passwords, round-robin over the
-- LOGIN_ACCOUNTS accounts bench-<n>@acme.com that bench-load.sh registered:
-- logins of one address are counted before their password is checked, so
-- many at once for one address would meet the throttle, as they should.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local accounts = tonumber(os.getenv("LOGIN_ACCOUNTS"))
local next_account = 0

function init(args)
  -- Threads start at different accounts.
  next_account = math.random(0, accounts - 1)
end

function request()
  next_account = (next_account + 1) % accounts
  local body = string.format(
    '{"email":"bench-%d@acme.com","password":"Secure-pass-123"}', next_account)
  return wrk.format(nil, nil, nil, body)
end
