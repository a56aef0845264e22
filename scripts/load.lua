-- wrk script for scripts/load.sh: `wrk -t THREADS ... -s scripts/load.lua URL -- TOKENS THREADS`.
--
-- TOKENS is a file of tokens, one a line, or "-" for none. Thread k of THREADS takes lines k,
-- k+THREADS, k+2*THREADS, ... and sends them in turn as `Authorization: Bearer`, so no two
-- threads send the same token and, with many more tokens than the server caches, a token comes
-- back only after the cache has had to evict it: misses (but for the few thousand the cache's
-- scan-resistant main queue keeps, which hit once a cycle). One token: every request carries it
-- (cache hits). "-": no header (the bare
-- route). Every scenario goes through the same request() so wrk spends the same on each.

local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

local requests = {}
local last = 0

function init(args)
   local file, threads = args[1] or "-", tonumber(args[2] or "1")
   if file == "-" then
      requests[1] = wrk.format("GET", wrk.path)
      return
   end
   local function with(token)
      return wrk.format("GET", wrk.path, { Authorization = "Bearer " .. token })
   end
   local line, last_token = 0, nil
   for token in io.lines(file) do
      if line % threads == id then
         requests[#requests + 1] = with(token)
      end
      last_token, line = token, line + 1
   end
   if line == 1 then
      requests = { with(last_token) } -- one token: every thread sends it
   elseif #requests == 0 then
      error(file .. ": no tokens for thread " .. id)
   end
end

function request()
   last = last % #requests + 1
   return requests[last]
end
