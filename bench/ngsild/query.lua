-- wrk: type + q + geo-near query around random points of the seeded area.
request = function()
  local lon = 2.25 + math.random() * 0.3
  local lat = 48.80 + math.random() * 0.16
  local path = string.format("/ngsi-ld/v1/entities?type=Sensor&q=temperature%%3E20&georel=near%%3BmaxDistance%%3D%%3D300"
                             .. "&geometry=Point&coordinates=%%5B%.5f,%.5f%%5D&limit=100", lon, lat)
  return wrk.format("GET", path)
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
