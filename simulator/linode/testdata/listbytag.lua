-- wrk script: the cloud controller manager's list, GET
-- /v4/linode/instances?page_size=100 filtered by one of ten tags, over the
-- Linodes of -load-serve -load-linodes 10000 (token "bench").
--
--   wrk -t1 -c16 -d10s -s simulator/linode/testdata/listbytag.lua http://127.0.0.1:8089
local reqs = {}

function init(args)
  wrk.headers["Authorization"] = "Bearer bench"
  wrk.headers["Accept"] = "application/json"
  for i = 0, 9 do
    wrk.headers["X-Filter"] = '{"tags":"team-' .. i .. '"}'
    reqs[i + 1] = wrk.format("GET", "/v4/linode/instances?page=1&page_size=100")
  end
end

function request()
  return reqs[math.random(1, #reqs)]
end
