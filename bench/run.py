"""The benchmark of scripts/bench, run against the stack it started: seeds
users, measures the ceilings (nginx alone, an empty FastCGI answer, raw
argon2id, durable inserts) and every workload with wrk, and prints the table
of ratios. Figures are only meaningful against the ceilings of the same run."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VAR = os.environ["FCGI_USERS_VAR"]
BUILD = os.environ["FCGI_USERS_BUILD"]
PORT = int(os.environ["FCGI_USERS_HTTP_PORT"])
BASE = f"http://127.0.0.1:{PORT}"
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
# Another build of fcgi-users (a folder holding its fcgi-users binary): the hot
# routes are measured with it too, in the same run, for a before/after ratio.
BEFORE_BUILD = os.environ.get("BENCH_BEFORE_BUILD", "")
# BENCH_ALSO_ENV="FCGI_USERS_KEY=value ...": the hot routes again, in the same
# run, with fcgi-users restarted under those settings (a lever's A/B).
ALSO_ENV = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_ALSO_ENV", "").split())
# BENCH_ALSO_CLOSE=1: the ceiling and the hot routes again, in the same run,
# with nginx opening a FastCGI connection per request (fastcgi_keep_conn off,
# for fcgi-users and the empty program alike): the transport's A/B.
ALSO_CLOSE = os.environ.get("BENCH_ALSO_CLOSE") == "1"
USERS = 1000
PASSWORD = "bench-password-1"
WRK_THREADS = 2
CONNECTIONS = 32


def config():
    out = subprocess.run([os.path.join(BUILD, "fcgi-users"), "check-config"], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)


def sql(query):
    return subprocess.run([os.path.join(ROOT, "scripts", "sql"), "-N", "-B"], input=query, capture_output=True,
                          text=True, check=True).stdout


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(user_id, key):
    """An access token with the claims fcgi-users issues (sessions: jti, iat, sid, sgen)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    body = b64url(json.dumps({"sub": user_id, "aud": ["fastapi-users:auth"], "exp": now + 86400, "iat": now,
                              "jti": b64url(secrets.token_bytes(16)), "sid": b64url(secrets.token_bytes(16)),
                              "sgen": 0}).encode())
    sig = b64url(hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest())
    return f"{header}.{body}.{sig}"


def seed():
    """USERS users sharing one real argon2id hash, a JWT and a database token each."""
    email0 = "seed@bench.example.com"
    subprocess.run([os.path.join(BUILD, "fcgi-users"), "user", "create", "--email", email0], input=PASSWORD + "\n",
                   text=True, check=True, capture_output=True)
    hashed = sql(f"SELECT hashed_password FROM user WHERE email = '{email0}'").strip()
    key = open(os.path.join(VAR, "secrets", "access_token")).read().strip()
    ids = [str(uuid.uuid4()) for _ in range(USERS)]
    emails = [f"user{i}@bench.example.com" for i in range(USERS)]
    rows = ",".join(f"('{i}', '{e}', '{hashed}', TRUE, FALSE, TRUE)" for i, e in zip(ids, emails))
    sql(f"INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) VALUES {rows}")
    db_tokens = [b64url(secrets.token_bytes(32)) for _ in ids]
    rows = ",".join(f"('{b64url(hashlib.sha256(t.encode()).digest())}', UTC_TIMESTAMP(), '{i}')"
                    for t, i in zip(db_tokens, ids))
    sql(f"INSERT INTO accesstoken (token, created_at, user_id) VALUES {rows}")
    files = {}
    for name, lines in (("jwt", [jwt(i, key) for i in ids]), ("dbtoken", db_tokens), ("emails", emails),
                        ("unknown", [f"nobody{i}@bench.example.com" for i in range(USERS)])):
        files[name] = os.path.join(VAR, f"bench-{name}.txt")
        with open(files[name], "w") as f:
            f.write("\n".join(lines) + "\n")
    return files


def wrk(path, mode="get", auth="none", listing=None, expect=200, connections=CONNECTIONS, seconds=SECONDS,
        warmup=True):
    env = dict(os.environ, BENCH_MODE=mode, BENCH_PATH=path, BENCH_AUTH=auth, BENCH_EXPECT=str(expect),
               BENCH_PASSWORD=PASSWORD)
    if listing:
        env["BENCH_LIST"] = listing
    threads = min(WRK_THREADS, connections)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-s", os.path.join(ROOT, "bench", "wrk.lua"),
           "--timeout", "10s", BASE + path]
    if warmup and WARMUP:
        subprocess.run(cmd[:1] + ["-d", f"{WARMUP}s"] + cmd[1:], env=env, capture_output=True, check=True)
    out = subprocess.run(cmd[:1] + ["-d", f"{seconds}s"] + cmd[1:], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def status_kib(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass  # ended meanwhile
    return 0


def hash_helpers(pid):
    """fcgi-users' hash helper processes (src/users/hash_process.h)."""
    out = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            name, rest = open(f"/proc/{entry}/stat").read().split("(", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name == "fcgi-users-hash" and int(rest.split()[1]) == pid:
            out.append(int(entry))
    return out


def rss_kib(pid):
    """fcgi-users' resident memory and its hash helpers' own: their private
    pages (the rest is fcgi-users' binary and libraries, shared with it)."""
    return status_kib(pid, "VmRSS") + sum(status_kib(h, "RssAnon") for h in hash_helpers(pid))


def threads_of(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def restart_app(build, settings=None):
    """fcgi-users of `build` in place of the running one, on the same socket and
    database, with `settings` (environment) on top of the run's."""
    subprocess.run([os.path.join(ROOT, "scripts", "stack"), "app-restart"], check=True, capture_output=True,
                   env=dict(os.environ, FCGI_USERS_BUILD=build, **(settings or {})))
    for _ in range(100):
        try:
            if subprocess.run(["curl", "-fsS", BASE + "/healthz"], capture_output=True).returncode == 0:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("fcgi-users did not come back after a restart")


def nginx_keep_conn(on):
    """Rewrites every fastcgi_keep_conn of the running nginx's configuration and
    reloads it (the old workers finish their requests first)."""
    conf_dir = os.path.join(VAR, "nginx")
    for name in os.listdir(conf_dir):
        path = os.path.join(conf_dir, name)
        if not name.endswith(".conf"):
            continue
        text = open(path).read()
        new = text.replace("fastcgi_keep_conn off;", "fastcgi_keep_conn on;") if on else \
            text.replace("fastcgi_keep_conn on;", "fastcgi_keep_conn off;")
        if new != text:
            with open(path, "w") as f:
                f.write(new)
    subprocess.run(["nginx", "-p", conf_dir, "-c", os.path.join(conf_dir, "nginx.conf"), "-s", "reload"],
                   check=True, capture_output=True)
    time.sleep(1)


class Run:
    """What the rows of one run share: the configuration, the seeded files, the
    ceilings measured so far and the rows. Each row (or group of rows compared
    with one ceiling) is one function below taking a Run; main() calls them in
    order, and options (BENCH_SOAK=1, ...) add functions."""

    def __init__(self):
        self.conf = config()
        self.workers = int(self.conf["workers"])
        self.slots = int(self.conf["hash_slots"]) or os.cpu_count()
        self.pid = int(open(os.path.join(VAR, "run", "fcgi-users.pid")).read())
        self.files = {}
        self.results = []
        self.process = {}
        self.ceilings = {}

    def add(self, name, run, ceiling_name, ceiling_rps, target=None, extra=None):
        row = {"workload": name, **run, "ceiling": ceiling_name, "ceiling_rps": ceiling_rps,
               "ratio": run["rps"] / ceiling_rps if ceiling_rps else None, "target": target}
        row.update(extra or {})
        row["errors"] = run.get("unexpected_status", 0) + run.get("socket_errors", 0)
        self.results.append(row)
        print(f"  {name}: {run['rps']:.0f}/s, ratio {row['ratio']:.2f}" if row["ratio"] else f"  {name}",
              file=sys.stderr)
        return row

    def argon2_rate(self, threads=None, mapping=()):
        """Raw argon2id with fcgi-users' parameters, at the hash threads' own
        priority (hash_nice): the same parameters, threads, niceness and memory
        (huge pages); mapping=("libsodium",): libsodium's own small pages."""
        return float(subprocess.run(["nice", "-n", self.conf.get("hash_nice", "0"),
                                     os.path.join(BUILD, "bench", "bench_argon2_rate"),
                                     self.conf["password.argon2_memory_kib"],
                                     self.conf["password.argon2_iterations"], str(threads or self.slots),
                                     str(SECONDS), *mapping], capture_output=True, text=True, check=True).stdout)


def ceilings_before(r):
    r.ceilings["durable"] = float(subprocess.run(
        [os.path.join(BUILD, "bench", "bench_durable_insert"), os.path.join(VAR, "run", "mysqld.sock"),
         "fcgi_users", os.path.join(VAR, "secrets", "db_password"), "fcgi_users", str(r.workers), str(SECONDS)],
        capture_output=True, text=True, check=True).stdout)


def interleaved(measure_ceiling, workloads):
    """Each workload between two measurements of its ceiling: [c0, w0, c1, w1,
    c2, ...]. Returns (workload runs, ceilings, the mean of each workload's two
    neighbours). Hashing speed on this kind of machine drifts by tens of per
    cent within minutes, so a ceiling measured minutes away says little."""
    ceilings, runs = [measure_ceiling()], []
    for run in workloads:
        runs.append(run())
        ceilings.append(measure_ceiling())
    return runs, ceilings, [(a + b) / 2 for a, b in zip(ceilings, ceilings[1:])]


def hot_routes(r):
    """The authenticated routes against the empty FastCGI answer, each compared
    with the empty answer measured right before and right after it: the
    machine's speed drifts by a fifth within minutes here (bench/README)."""
    f = r.files
    nginx = wrk("/bench/static")
    empties = []

    def empty_rps():
        empties.append(wrk("/bench/empty"))
        return empties[-1]["rps"]

    hot = [("GET /users/me, bearer JWT, 1000 users", lambda: wrk("/users/me", auth="bearer", listing=f["jwt"]), 0.6),
           ("GET /users/me, cookie JWT", lambda: wrk("/users/me", auth="cookie", listing=f["jwt"]), 0.6),
           ("GET /users/me, database token", lambda: wrk("/users/me", auth="bearer", listing=f["dbtoken"]), 0.5),
           ("GET /auth/check, bearer JWT", lambda: wrk("/auth/check", auth="bearer", listing=f["jwt"]), 0.7)]
    hot_runs, _, around = interleaved(empty_rps, [run for _, run, _ in hot])
    runs = []
    if BEFORE_BUILD:
        restart_app(BEFORE_BUILD)
        runs += [("GET /users/me, bearer JWT (before build)", wrk("/users/me", auth="bearer", listing=f["jwt"]),
                  None),
                 ("GET /auth/check, bearer JWT (before build)",
                  wrk("/auth/check", auth="bearer", listing=f["jwt"]), None)]
    if ALSO_ENV:
        label = " ".join(f"{k}={v}" for k, v in ALSO_ENV.items())
        restart_app(BUILD, ALSO_ENV)
        runs += [(f"GET /users/me, bearer JWT ({label})", wrk("/users/me", auth="bearer", listing=f["jwt"]), None),
                 (f"GET /auth/check, bearer JWT ({label})", wrk("/auth/check", auth="bearer", listing=f["jwt"]),
                  None)]
    if BEFORE_BUILD or ALSO_ENV:
        restart_app(BUILD)
        r.pid = int(open(os.path.join(VAR, "run", "fcgi-users.pid")).read())
    closing = {}
    if ALSO_CLOSE:
        nginx_keep_conn(False)
        try:
            closing["empty"] = wrk("/bench/empty")
            for route in ("/users/me", "/auth/check"):
                closing[route] = wrk(route, auth="bearer", listing=f["jwt"])
        finally:
            nginx_keep_conn(True)
    empty = dict(empties[0])
    for key in ("rps", "p50_ms"):
        empty[key] = sum(e[key] for e in empties) / len(empties)
    empty["p99_ms"] = max(e["p99_ms"] for e in empties)
    for key in ("unexpected_status", "socket_errors"):
        empty[key] = sum(e[key] for e in empties)
    r.add("nginx alone (ceiling)", nginx, "-", None)
    r.add("FastCGI empty answer (ceiling, mean around the rows)", empty, "nginx alone", nginx["rps"], None,
          {"rps_before": empties[0]["rps"], "rps_after": empties[-1]["rps"],
           "rps_measured": [e["rps"] for e in empties]})
    r.results.append({"workload": "durable insert (ceiling)", "rps": r.ceilings["durable"],
                      "ceiling": f"{r.workers} connections"})
    for (name, _, target), run, ceiling in zip(hot, hot_runs, around):
        r.add(name, run, "FastCGI empty around it", ceiling, target)
    for name, run, target in runs:
        r.add(name, run, "FastCGI empty", empty["rps"], target)
    if closing:
        r.add("FastCGI empty answer, a connection per request (ceiling)", closing["empty"], "nginx alone",
              nginx["rps"])
        for name, route in (("GET /users/me, bearer JWT", "/users/me"), ("GET /auth/check, bearer JWT",
                                                                         "/auth/check")):
            r.add(f"{name}, a connection per request", closing[route], "FastCGI empty, a connection per request",
                  closing["empty"]["rps"])


def hashing_routes(r):
    """Login and registration against raw argon2id, each compared with the
    mean of raw argon2id measured right before and right after it."""
    f = r.files
    runs, raw, around = interleaved(r.argon2_rate, [
        lambda: wrk("/auth/jwt/login", mode="login", listing=f["emails"], connections=8),
        lambda: wrk("/auth/jwt/login", mode="login", listing=f["unknown"], expect=400, connections=8),
        lambda: wrk("/auth/register", mode="register", expect=201, connections=8)])
    r.results.append({"workload": "raw argon2id (ceiling, mean around the rows)",
                      "rps": sum(raw) / len(raw), "ceiling": f"{r.slots} threads", "rps_measured": raw,
                      "rps_libsodium_mapping": r.argon2_rate(mapping=("libsodium",))})
    login_ok = r.add("POST /auth/jwt/login, correct password", runs[0], "raw argon2id around it", around[0], 0.97)
    login_unknown = r.add("POST /auth/jwt/login, unknown e-mail", runs[1], "raw argon2id around it", around[1], 0.97,
                          {"vs_correct_password": runs[1]["rps"] / runs[0]["rps"]})
    r.add("POST /auth/register, unique addresses", runs[2], "min(argon2id around it, insert)",
          min(around[2], r.ceilings["durable"]), 0.95)


def login_one_connection(r):
    """One login at a time against one raw hash at a time (measured right
    before and after it): what a login adds to its hash (target: within 1 ms).
    An unknown e-mail costs the same hash (of a dummy) and the same user lookup
    but no refresh token's durable insert: the difference between the two
    rows is that insert."""
    f = r.files
    runs, _, around = interleaved(lambda: 1000 / r.argon2_rate(threads=1), [
        lambda: wrk("/auth/jwt/login", mode="login", listing=f["emails"], connections=1),
        lambda: wrk("/auth/jwt/login", mode="login", listing=f["unknown"], expect=400, connections=1)])
    for name, run, hash_ms in (("POST /auth/jwt/login, one connection", runs[0], around[0]),
                               ("POST /auth/jwt/login, unknown e-mail, one connection", runs[1], around[1])):
        r.add(name, run, "-", None, None, {"one_raw_hash_ms": hash_ms, "added_ms": run["p50_ms"] - hash_ms})


def login_storm(r):
    """/users/me while logins keep every hash slot busy."""
    storm = {}
    t = threading.Thread(target=lambda: storm.update(wrk("/auth/jwt/login", mode="login", listing=r.files["emails"],
                                                           connections=16, seconds=SECONDS + 2, warmup=False)))
    t.start()
    time.sleep(1)
    during = wrk("/users/me", auth="bearer", listing=r.files["jwt"], connections=8, warmup=False)
    t.join()
    r.add("GET /users/me while logins saturate the hash slots", during, "-", None, None,
          {"storm_logins_rps": storm["rps"], "storm_unexpected": storm["unexpected_status"] + storm["socket_errors"],
           "target_p99_ms": 2})


def many_connections(r):
    empty256 = wrk("/bench/empty", connections=256)
    r.add("FastCGI empty answer, 256 connections (ceiling)", empty256, "-", None)
    r.add("GET /users/me, 256 connections", wrk("/users/me", auth="bearer", listing=r.files["jwt"], connections=256),
          "FastCGI empty, 256", empty256["rps"], 0.55, {"target_p99_ms": 20})


def memory_rounds(r):
    """Two identical rounds after everything else: what the second adds is a leak."""
    wrk("/users/me", auth="bearer", listing=r.files["jwt"])
    r.process["rss_after_round1_kib"] = rss_kib(r.pid)
    wrk("/users/me", auth="bearer", listing=r.files["jwt"])
    r.process["rss_end_kib"] = rss_kib(r.pid)
    r.process["rss_growth_between_rounds_kib"] = r.process["rss_end_kib"] - r.process["rss_after_round1_kib"]


def soak(r):
    """BENCH_SOAK=1: five minutes of /users/me with a login now and then, in
    30-second rounds; resident memory after each. Growth of the lowest sample
    from the first half to the second is what a leak would show."""
    minutes = float(os.environ.get("BENCH_SOAK_MINUTES", "5"))
    rounds = max(4, int(minutes * 2))  # two samples at least in each half
    samples = []
    for _ in range(rounds):
        storm = threading.Thread(target=lambda: wrk("/auth/jwt/login", mode="login", listing=r.files["emails"],
                                                    connections=1, seconds=30, warmup=False))
        storm.start()
        run = wrk("/users/me", auth="bearer", listing=r.files["jwt"], seconds=30, warmup=False)
        storm.join()
        time.sleep(1)  # the login still hashing when wrk stopped ends (its argon2 memory is freed)
        samples.append(rss_kib(r.pid))
        print(f"  soak: {run['rps']:.0f}/s, RSS {samples[-1] / 1024:.1f} MiB", file=sys.stderr)
    r.process["soak_rss_kib"] = samples
    # A sample taken while a hash runs includes its argon2 memory (freed when
    # it ends; a login can outlast wrk's 30 s on a loaded machine), so a single
    # sample can jump by a slot's memory: the floor of the second half against
    # the floor of the first is what a leak would raise.
    half = len(samples) // 2
    r.process["soak_growth_kib"] = min(samples[half:]) - min(samples[:half])


def main():
    r = Run()
    time.sleep(1)
    r.process["rss_idle_kib"] = rss_kib(r.pid)
    r.files = seed()
    ceilings_before(r)
    hot_routes(r)
    hashing_routes(r)
    login_one_connection(r)
    login_storm(r)
    many_connections(r)
    memory_rounds(r)
    if os.environ.get("BENCH_SOAK") == "1":
        soak(r)
    connections = sql("SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'fcgi_users'").strip()
    if os.environ.get("BENCH_CLUSTER") == "1":
        cluster_rows(r.results, r.files, r.add)
    r.process.update({"workers": r.workers, "hash_slots": r.slots, "threads": threads_of(r.pid),
                      "db_connections": int(connections),
                      "argon2_kib_per_slot": int(r.conf["password.argon2_memory_kib"])})
    report = {"machine": {"cores": os.cpu_count()}, "seconds_per_run": SECONDS, "connections": CONNECTIONS,
              "results": r.results, "process": r.process}
    with open(os.path.join(VAR, "results.json"), "w") as f:
        json.dump(report, f, indent=2)
    print_table(r.results, r.process)
    errors = sum(x.get("unexpected_status", 0) + x.get("socket_errors", 0) for x in r.results)
    errors += sum(x.get("storm_unexpected", 0) for x in r.results)
    print(f"\n{errors} unexpected answers or socket errors" + ("" if errors == 0 else ": FAILED"))
    return 0 if errors == 0 else 1


def cluster_rows(results, files, add):
    """BENCH_CLUSTER=1: register and /users/me on a three-node Galera cluster
    (scripts/stack galera: two fcgi-users hosts on different nodes behind one
    nginx upstream, on this port + 40), as ratios against this run's single node."""
    global BASE
    env = dict(os.environ, FCGI_USERS_VAR=os.path.join(VAR, "galera"), FCGI_USERS_HTTP_PORT=str(PORT + 40))
    for key in ("FCGI_USERS_LISTEN", "FCGI_USERS_DB_SOCKET", "FCGI_USERS_NGINX_EXTRA", "FCGI_USERS_APP_SOCKET"):
        env.pop(key, None)
    stack = [os.path.join(ROOT, "scripts", "stack"), "galera"]
    subprocess.run(stack + ["up"], env=env, check=True, capture_output=True)
    single, base = {r["workload"]: r["rps"] for r in results}, BASE
    try:
        # The seeded users (the JWT list names them), copied to the cluster.
        users = sql("SELECT CONCAT('(', QUOTE(id), ',', QUOTE(email), ',', QUOTE(hashed_password), "
                    "', TRUE, FALSE, TRUE)') FROM user WHERE email LIKE 'user%@bench.example.com'").splitlines()
        subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib.sh; galera_admin 1 fcgi_users"], env=env, check=True,
                       input="INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
                             f"VALUES {','.join(users)};", text=True, capture_output=True)
        BASE = f"http://127.0.0.1:{PORT + 40}"
        me = wrk("/users/me", auth="bearer", listing=files["jwt"])
        register = wrk("/auth/register", mode="register", expect=201, connections=8)
    finally:
        BASE = base
        subprocess.run(stack + ["down"], env=env, capture_output=True)
    add("GET /users/me, bearer JWT: Galera, 2 hosts, 3 nodes", me, "single node, this run",
        single["GET /users/me, bearer JWT, 1000 users"])
    add("POST /auth/register: Galera, 2 hosts, 3 nodes", register, "single node, this run",
        single["POST /auth/register, unique addresses"])


def print_table(results, process):
    print(f"\n{'workload':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  {'ratio':>5} {'target':>7}  ceiling")
    for r in results:
        errors = r.get("unexpected_status", 0) + r.get("socket_errors", 0)
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "-"
        target = f">={r['target']}" if r.get("target") else (f"p99<={r['target_p99_ms']}" if r.get("target_p99_ms") else "")
        p50 = f"{r['p50_ms']:.2f}" if "p50_ms" in r else "-"
        p99 = f"{r['p99_ms']:.2f}" if "p99_ms" in r else "-"
        print(f"{r['workload']:<52} {r['rps']:>9.0f} {p50:>8} {p99:>8} {errors:>6}  {ratio:>5} {target:>7}  {r['ceiling']}")
        if "rps_before" in r and "rps_measured" not in r:
            print(f"{'  (measured before / after)':<52} {r['rps_before']:>9.0f} {r['rps_after']:>8.0f}")
        if "rps_measured" in r:
            print(f"{'  (measured before, between and after the rows)':<52} "
                  + " ".join(f"{x:>8.0f}" for x in r["rps_measured"]))
        if "rps_libsodium_mapping" in r:
            label = "  (on libsodium's own 4 KiB pages, for comparison)"
            print(f"{label:<52} {r['rps_libsodium_mapping']:>9.0f}")
        if "vs_correct_password" in r:
            print(f"{'  (unknown e-mail / correct password)':<52} {'':>9} {'':>8} {'':>8} {'':>6}  {r['vs_correct_password']:.2f}")
        if "one_raw_hash_ms" in r:
            print(f"{'  (one raw hash, ms; login p50 minus it)':<52} {r['one_raw_hash_ms']:>9.2f} {r['added_ms']:>8.2f}")
        if "storm_logins_rps" in r:
            print(f"{'  (logins running meanwhile, per second)':<52} {r['storm_logins_rps']:>9.0f}")
    p = process
    print(f"\nfcgi-users: {p['workers']} workers, {p['hash_slots']} hash slots (one helper process each), {p['threads']} threads, "
          f"{p['db_connections']} MariaDB connections")
    print(f"resident memory (hash helpers' private pages included): idle {p['rss_idle_kib'] / 1024:.1f} MiB, after round 1 {p['rss_after_round1_kib'] / 1024:.1f} MiB, "
          f"end {p['rss_end_kib'] / 1024:.1f} MiB (growth between identical rounds {p['rss_growth_between_rounds_kib']} KiB); "
          f"argon2 memory per slot {p['argon2_kib_per_slot'] / 1024:.1f} MiB")
    if "soak_rss_kib" in p:
        print(f"soak: resident memory per 30 s round {', '.join(f'{k / 1024:.1f}' for k in p['soak_rss_kib'])} MiB "
              f"(growth of the lowest sample, first half to second: {p['soak_growth_kib']} KiB)")


if __name__ == "__main__":
    sys.exit(main())
