-- wrk: GET /ngsi-ld/v1/entities/{id} on random entities of the seeded set.
local n = tonumber(os.getenv("ENTITIES") or "10000")
request = function()
  return wrk.format("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:" .. math.random(0, n - 1))
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
