-- wrk: PATCH /ngsi-ld/v1/entities/{id}/attrs on random entities of the seeded set.
local n = tonumber(os.getenv("ENTITIES") or "10000")
local counter = 0
request = function()
  counter = counter + 1
  local id = math.random(0, n - 1)
  local body = string.format('{"temperature":{"type":"Property","value":%d.5},"status":{"type":"Property","value":"ok"}}',
                             counter % 40)
  return wrk.format("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:" .. id .. "/attrs",
                    {["Content-Type"] = "application/json"}, body)
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
