-- One wrk script for every workload of scripts/bench, set by environment:
--   BENCH_MODE    get | login | register
--   BENCH_PATH    the path requested
--   BENCH_AUTH    none | bearer | cookie (get), the credential from BENCH_LIST
--   BENCH_LIST    a file with one token (get) or e-mail (login) per line
--   BENCH_EXPECT  the one status that counts as success
-- done() prints one JSON line: rate, p50/p99 and every kind of error.
local mode = os.getenv("BENCH_MODE") or "get"
local path = os.getenv("BENCH_PATH") or "/"
local auth = os.getenv("BENCH_AUTH") or "none"
local list_file = os.getenv("BENCH_LIST")
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local password = os.getenv("BENCH_PASSWORD") or "bench-password-1"

local threads = {}
local n = 0

function setup(thread)
    table.insert(threads, thread)
    thread:set("tid", #threads)
end

local list = {}
unexpected = 0
local counter = 0

function init(args)
    if list_file then
        for line in io.lines(list_file) do list[#list + 1] = line end
    end
    math.randomseed(os.time() + (tid or 0) * 7919)
    counter = math.random(1, 1000000)
end

local function pick()
    counter = counter + 1
    return list[counter % #list + 1]
end

function request()
    if mode == "get" then
        local headers = {}
        if auth == "bearer" then
            headers["Authorization"] = "Bearer " .. pick()
        elseif auth == "cookie" then
            headers["Cookie"] = "fastapiusersauth=" .. pick()
        end
        return wrk.format("GET", path, headers)
    elseif mode == "login" then
        local body = "username=" .. pick() .. "&password=" .. password
        return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
    else
        counter = counter + 1
        local body = string.format('{"email": "b%d-%d-%d@bench.example.com", "password": "%s"}',
                                   tid or 0, counter, math.random(1, 1000000000), password)
        return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
    end
end

function response(status, headers, body)
    if status ~= expect then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
    local bad = 0
    for _, t in ipairs(threads) do bad = bad + (t:get("unexpected") or 0) end
    local e = summary.errors
    io.write(string.format(
        '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
        '"unexpected_status": %d, "socket_errors": %d}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad,
        e.connect + e.read + e.write + e.timeout))
end
