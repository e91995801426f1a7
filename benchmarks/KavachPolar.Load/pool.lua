-- wrk script for `KavachPolar.Load compare`: replays raw HTTP/1.1 requests built beforehand (signed deliveries
-- or GETs), so that wrk does no work per request beyond taking the next one.
--
--   wrk -t T -c C -d D -s pool.lua <url> -- <pool> <once|cycle> <result.json> <T>
--
-- Thread i reads <pool>.<i>: records of a 7-digit decimal length followed by that many bytes (one request).
-- "once" sends every record at most once; when they run out it sends GET /_pool_exhausted (a 404, so the run
-- shows non-2xx responses and is not counted), slowly. "cycle" starts again from the first record.
--
-- wrk runs each thread's init and then starts that thread, one thread after another, and starts its clock after
-- the last one: reading a pool of a few hundred MB takes a noticeable part of a second, during which the threads
-- already started would send requests that wrk then divides by too short a time. So every thread but the last
-- sends nothing until the last thread's init has written <pool>.ready.
-- wrk calls request() once on thread 0 before starting any thread, to check the request's syntax; that record is
-- not sent (in "once" mode one snapshot of one user is skipped, which the sender allows for).

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   threads[#threads + 1] = thread
end

local ok, ffi = pcall(require, "ffi")
if ok then
   ffi.cdef("int usleep(unsigned int usec);")
end

function init(args)
   local f = assert(io.open(args[1] .. "." .. tid, "rb"))
   data = f:read("*a")
   f:close()
   size = #data
   cycle = args[2] == "cycle"
   out = args[3]
   ready = args[1] .. ".ready"
   waiting = tid < tonumber(args[4]) - 1
   calls = 0
   pos = 1
   taken = 0
   exhausted = 0
   fallback = wrk.format("GET", "/_pool_exhausted")
   if not waiting then
      assert(io.open(ready, "w")):close()
   end
end

local function wait_for_last_thread()
   while true do
      local marker = io.open(ready, "r")
      if marker then
         marker:close()
         return
      end
      if ok then
         ffi.C.usleep(1000)
      end
   end
end

function request()
   calls = calls + 1
   if waiting and (tid > 0 or calls > 1) then
      wait_for_last_thread()
      waiting = false
   end
   if pos > size then
      if not cycle then
         -- The run no longer counts: no need to load the server with 404s until wrk stops.
         exhausted = exhausted + 1
         if ok then
            ffi.C.usleep(100000)
         end
         return fallback
      end
      pos = 1
   end
   local length = tonumber(data:sub(pos, pos + 6))
   local r = data:sub(pos + 7, pos + 6 + length)
   pos = pos + 7 + length
   taken = taken + 1
   return r
end

function done(summary, latency, requests)
   local taken, exhausted = 0, 0
   for _, t in ipairs(threads) do
      taken = taken + t:get("taken")
      exhausted = exhausted + t:get("exhausted")
   end
   local e = summary.errors
   local f = assert(io.open(threads[1]:get("out"), "w"))
   f:write(string.format(
      '{"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"taken":%d,"exhausted":%d}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      taken, exhausted))
   f:close()
end
