-- wrk script: GET /v4/linode/instances/{id} for the Linodes the linode test
-- binary's -load-serve -load-linodes N mode created (it writes their ids to
-- /tmp/eventsim-linodes.txt; token "bench"). Requests are formatted once in
-- init; request() only picks one.
--
--   wrk -t1 -c16 -d10s -s simulator/linode/testdata/getlinode.lua http://127.0.0.1:8089
local reqs = {}

function init(args)
  wrk.headers["Authorization"] = "Bearer bench"
  wrk.headers["Accept"] = "application/json"
  for line in io.lines("/tmp/eventsim-linodes.txt") do
    reqs[#reqs + 1] = wrk.format("GET", "/v4/linode/instances/" .. line)
  end
end

function request()
  return reqs[math.random(1, #reqs)]
end
