"""CPU per request, process by process, user and kernel time apart: runs one
wrk workload against the stack scripts/bench (or scripts/stack) started and
reads /proc/<pid>/stat of nginx, fcgi-users, MariaDB and the empty FastCGI
program before and after. CPU time, unlike req/s, hardly depends on what
else the machine runs, so two versions compare fairly on a shared machine.
Usage (FCGI_USERS_VAR and FCGI_USERS_HTTP_PORT as for the stack):
  cpu_split.py PATH [bearer|cookie|none] [jwt|dbtoken] [seconds] [connections]
  cpu_split.py /auth/jwt/login login [emails|unknown] [seconds] [connections]
  cpu_split.py /auth/register register - [seconds] [connections]
The hashing routes add the hash helpers (fcgi-users' child processes) and
wrk itself, which shares the cores: the split of a login's two cores."""
import glob
import json
import os
import resource
import subprocess
import sys

VAR = os.environ["FCGI_USERS_VAR"]
PORT = int(os.environ["FCGI_USERS_HTTP_PORT"])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def children_of(pid):
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            if open(stat).read().split(")")[1].split()[1] == str(pid):
                out.append(int(stat.split("/")[2]))
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
    return out


def pids():
    out = {}
    for name, file in (("fcgi-users", "fcgi-users.pid"), ("mariadbd", "mariadb.pid"),
                       ("empty-fcgi", "empty-fcgi.pid"), ("nginx", "nginx.pid")):
        try:
            out[name] = [int(open(os.path.join(VAR, "run", file)).read())]
        except (OSError, ValueError):
            continue
    if "nginx" in out:  # the master and its workers
        out["nginx"] += children_of(out["nginx"][0])
    return out


def cpu(pid_list):
    user = system = 0
    for pid in pid_list:
        try:
            f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
        except OSError:
            continue
        user += int(f[11]) + int(f[13])  # utime + cutime (fields 14 and 16)
        system += int(f[12]) + int(f[14])
    return user / TICK, system / TICK


def main():
    path = sys.argv[1]
    auth = sys.argv[2] if len(sys.argv) > 2 else "none"
    listing = sys.argv[3] if len(sys.argv) > 3 else ("emails" if auth == "login" else "jwt")
    seconds = sys.argv[4] if len(sys.argv) > 4 else "8"
    connections = sys.argv[5] if len(sys.argv) > 5 else ("8" if auth in ("login", "register") else "32")
    hashing = auth in ("login", "register")
    expect = {"login": "400" if listing == "unknown" else "200", "register": "201"}.get(auth, "200")
    env = dict(os.environ, BENCH_MODE=auth if hashing else "get", BENCH_PATH=path, BENCH_AUTH=auth,
               BENCH_EXPECT=expect, BENCH_PASSWORD="bench-password-1")
    if listing != "-":
        env["BENCH_LIST"] = os.path.join(VAR, f"bench-{listing}.txt")
    procs = pids()
    if hashing and "fcgi-users" in procs:
        procs["hash helpers"] = children_of(procs["fcgi-users"][0])
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = {k: cpu(v) for k, v in procs.items()}
    out = subprocess.run(["wrk", "-t", str(min(2, int(connections))), "-c", connections, "-d", f"{seconds}s", "-s",
                          os.path.join(ROOT, "bench", "wrk.lua"), f"http://127.0.0.1:{PORT}{path}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    after = {k: cpu(v) for k, v in procs.items()}
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = json.loads(out.strip().splitlines()[-1])
    n = run["requests"]
    split = {k: {"user_us": (after[k][0] - before[k][0]) * 1e6 / n,
                 "sys_us": (after[k][1] - before[k][1]) * 1e6 / n} for k in procs}
    if hashing:
        split["wrk"] = {"user_us": (wrk_after.ru_utime - wrk_before.ru_utime) * 1e6 / n,
                        "sys_us": (wrk_after.ru_stime - wrk_before.ru_stime) * 1e6 / n}
    print(json.dumps({"path": path, "auth": auth, "rps": run["rps"], "p99_ms": run["p99_ms"],
                      "errors": run["unexpected_status"] + run["socket_errors"], "cpu_per_request": split}))


if __name__ == "__main__":
    main()
