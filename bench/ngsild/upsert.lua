-- wrk: POST /ngsi-ld/v1/entityOperations/upsert with BATCH entities per request,
-- cycling over the seeded ids (every entity already exists: pure updates).
local n = tonumber(os.getenv("ENTITIES") or "10000")
local batch = tonumber(os.getenv("BATCH") or "100")
local next_id = 0
request = function()
  local parts = {}
  for i = 1, batch do
    local id = next_id % n
    next_id = next_id + 1
    parts[i] = string.format('{"id":"urn:ngsi-ld:Sensor:%d","type":"Sensor","temperature":{"type":"Property","value":%d},'
                             .. '"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%.5f,%.5f]}}}',
                             id, next_id % 50, 2.25 + (id % 300) * 0.001, 48.80 + math.floor(id / 300) * 0.0005)
  end
  return wrk.format("POST", "/ngsi-ld/v1/entityOperations/upsert?options=update",
                    {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
