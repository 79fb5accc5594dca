-- wrk script: GET /v4/account/events/{id} for 4,096 ids spread over a store
-- of a million events (the linode test binary's -load-serve mode serves one,
-- token "bench"). Requests are formatted once in init; request() only picks
-- one. wrk reports answers other than 2xx/3xx as "Non-2xx or 3xx responses".
--
--   wrk -t1 -c16 -d10s -s simulator/linode/testdata/getevent.lua http://127.0.0.1:8089
local reqs = {}
local n = 4096

function init(args)
  math.randomseed(2)
  wrk.headers["Authorization"] = "Bearer bench"
  wrk.headers["Accept"] = "application/json"
  for i = 1, n do
    reqs[i] = wrk.format("GET", "/v4/account/events/" .. math.random(1, 1000000))
  end
end

function request()
  return reqs[math.random(1, n)]
end
