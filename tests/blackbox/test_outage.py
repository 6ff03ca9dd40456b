"""Outages and restarts without lies or hangs: MariaDB killed with -9, stopped,
or holding a table lock, and fcgi-users itself stopped and restarted under
load. Every process is the real one, killed or stopped for real through
var/run/*.pid and scripts/stack with the test stack's environment."""
# ctest labels: concurrency  # stop signals, watchdogs, the log limiter under load: also under ThreadSanitizer
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse
from collections import Counter

import pytest
import requests

import fcgi_client
from conftest import (APP_PID_FILE, APP_SOCKET, BASE, BINARY, PASSWORD, ROOT, VAR, bearer, hook_lines, login,
                      make_superuser, register, stack, stack_env, unique_email, url, wait_for)

LOG_FILE = os.path.join(VAR, "log", "fcgi-users.log")
HTTP_PORT = int(BASE.rsplit(":", 1)[1])
SITE = f"http://127.0.0.1:{HTTP_PORT + 1}"  # the demo site protected by fcgi-users
DB_PID_FILE = os.path.join(VAR, "run", "mariadb.pid")
STATEMENT_TIMEOUT = int(os.environ.get("FCGI_USERS_DB_STATEMENT_TIMEOUT", "5"))  # the default
# The bounds this file holds the service to.
ANSWER_BOUND = 10.0  # seconds any request may take while MariaDB is down or restarting
LOCKED_BOUND = STATEMENT_TIMEOUT + 2.0  # a request stuck behind a table lock
HUNG_BOUND = STATEMENT_TIMEOUT + 3.5  # a server that answers nothing: the client's read timeout (+2 s)
HEALTHZ_BOUND = 1.5  # /healthz, whatever the database does (its own check gives up at 0.8 s)
RECOVERY_BOUND = 5.0  # from MariaDB answering again to every route answering again
# What a 503 body must never show: the database's own words.
INTERNALS = re.compile(r"mysql|mariadb|sql|errno|\b20\d\d\b|server has gone|lost connection|socket",
                       re.IGNORECASE)


def log_size():
    return os.path.getsize(LOG_FILE)


def log_since(offset):
    with open(LOG_FILE, errors="replace") as f:
        f.seek(offset)
        return f.read().splitlines()


def app_pid():
    return int(open(APP_PID_FILE).read())


def assert_clean_503(body):
    assert json.loads(body).get("detail"), body
    assert not INTERNALS.search(body), body


class Load:
    """`clients` threads calling `call()` until stop(); each result is
    (started, seconds, status or the exception's repr, body, extra)."""

    def __init__(self, clients, call):
        self.results = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(call,)) for _ in range(clients)]
        for t in self._threads:
            t.start()

    def _run(self, call):
        while not self._stop.is_set():
            started = time.time()
            try:
                status, body, extra = call()
            except Exception as e:  # a hang (timeout) or a reset is a result too
                status, body, extra = repr(e), "", None
            with self._lock:
                self.results.append((started, time.time() - started, status, body, extra))

    def count(self, status, since=0.0):
        with self._lock:
            return sum(1 for r in self.results if r[2] == status and r[0] >= since)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self._threads), "a client never got an answer"
        return self.results


def test_kill_9_of_mariadb_while_8_clients_register():
    pid_before = app_pid()

    def register_one():
        email = unique_email("kill9")
        r = requests.post(url("/auth/register"), json={"email": email, "password": PASSWORD},
                          timeout=ANSWER_BOUND + 20)
        return r.status_code, r.text, email

    load = Load(8, register_one)
    try:
        assert wait_for(lambda: load.count(201) >= 8, timeout=60), "no registrations before the kill"
        os.kill(int(open(DB_PID_FILE).read()), signal.SIGKILL)
        killed = time.time()
        time.sleep(3)  # the clients keep calling while MariaDB is gone
        stack("db-start")
        back = time.time()
        assert wait_for(lambda: load.count(201, since=back) >= 8, timeout=60), \
            "registrations did not resume after MariaDB came back"
    finally:
        results = load.stop()
    assert app_pid() == pid_before, "fcgi-users was restarted"
    statuses = Counter(r[2] for r in results)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "the outage was never seen"
    for _, _, status, body, _ in results:
        if status == 503:
            assert_clean_503(body)
    slowest = max(r[1] for r in results)
    assert slowest <= ANSWER_BOUND, f"a request took {slowest:.1f} s"
    first_201_after = min(r[0] + r[1] for r in results if r[2] == 201 and r[0] >= killed)
    print(f"kill -9: {dict(statuses)}; slowest answer {slowest:.2f} s; first 201 "
          f"{first_201_after - back:.2f} s after MariaDB was back")
    # Every 201 was a promise: the user is stored and its after_register hook delivered.
    created = {json.loads(body)["id"]: email for _, _, status, body, email in results if status == 201}
    ids = ",".join(f"'{i}'" for i in created)
    rows = subprocess.run([os.path.join(ROOT, "scripts", "sql"), "-N", "-B", "-e",
                           f"SELECT id, email FROM user WHERE id IN ({ids})"],
                          check=True, capture_output=True, text=True).stdout.splitlines()
    stored = dict(line.split("\t") for line in rows)
    missing = {i: e for i, e in created.items() if stored.get(i) != e}
    assert not missing, f"{len(missing)} of {len(created)} answered 201 but are not stored"

    def undelivered():
        done = {h["user_id"] for h in hook_lines() if h["event"] == "after_register"}
        return [i for i in created if i not in done]

    assert wait_for(lambda: not undelivered(), timeout=90), \
        f"after_register never delivered for {len(undelivered())} of {len(created)} users"


def test_mariadb_stopped_for_10_s_answers_503_then_recovers():
    email = unique_email("stopped")
    register(email)
    token = login(email)
    stack("db-stop")
    stopped = time.time()
    seen = Counter()
    try:
        while time.time() - stopped < 10:
            # The API, and the sites it protects (nginx/protect-examples.conf):
            # their checks cannot answer either, and nginx must say so as the API does.
            for path, kwargs in (("/healthz", {}), ("/users/me", {"headers": bearer(token)}),
                                 *((SITE + p, {"headers": bearer(token)})
                                   for p in ("/private/", "/admin/", "/app/x", "/optional/x"))):
                t = time.time()
                r = requests.get(path if path.startswith("http") else url(path), timeout=ANSWER_BOUND + 20, **kwargs)
                assert time.time() - t <= ANSWER_BOUND
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert_clean_503(r.text)
                seen[path] += 1
            time.sleep(0.2)
    finally:
        stack("db-start")
    back = time.time()

    def all_up():
        return (requests.get(url("/healthz"), timeout=5).status_code == 200
                and requests.get(url("/users/me"), headers=bearer(token), timeout=5).status_code == 200)

    assert wait_for(all_up, timeout=RECOVERY_BOUND, interval=0.05), f"not recovered {RECOVERY_BOUND} s after"
    print(f"stopped 10 s: {dict(seen)} answered 503; recovered {time.time() - back:.2f} s after MariaDB")
    for _ in range(20):  # every worker's connection is back
        assert requests.get(url("/users/me"), headers=bearer(token), timeout=5).status_code == 200


def test_an_outage_logs_each_kind_of_error_at_most_once_a_second():
    email = unique_email("flood")
    register(email)
    token = login(email)
    offset = log_size()

    def me():
        r = requests.get(url("/users/me"), headers=bearer(token), timeout=ANSWER_BOUND + 20)
        return r.status_code, r.text, None

    stopping = time.time()  # the errors start while MariaDB shuts down
    stack("db-stop")
    load = Load(4, me)
    try:
        time.sleep(6)
    finally:
        results = load.stop()
        stack("db-start")
    seconds = time.time() - stopping
    db_lines = [line for line in log_since(offset) if " warn db: " in line]
    kinds = Counter(re.search(r"warn (db: \w+ failed: \d+)", line).group(1) for line in db_lines)
    print(f"{len(results)} requests in a {seconds:.1f} s outage: {len(db_lines)} db lines {dict(kinds)}")
    assert len(results) > 100, "too few requests to flood anything"
    assert kinds, "the outage was not logged"
    for kind, n in kinds.items():
        assert n <= seconds + 2, (kind, n)
    assert any("more like it since the last" in line for line in db_lines), db_lines[:5]


def reads_not_batched():
    """User reads that joined no other request's statement in flight: read
    alone (the statements in flight were stuck) or in a worker's group."""
    text = requests.get(url("/metrics")).text
    total = 0
    for name in ("fcgi_users_user_reads_alone_total", "fcgi_users_user_reads_grouped_total"):
        found = re.search(rf"^{name} (\d+)$", text, re.M)
        total += int(found.group(1)) if found else 0
    return total


def test_a_table_lock_gives_503_within_the_statement_timeout_and_healthz_sees_it():
    email = unique_email("locked")
    register(email)
    token = login(email)
    offset = log_size()
    alone_before = reads_not_batched()
    hold = STATEMENT_TIMEOUT + 5
    locker = subprocess.Popen([os.path.join(ROOT, "scripts", "sql"), "-e",
                               f"LOCK TABLES user WRITE; SELECT SLEEP({hold}); UNLOCK TABLES;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: "User sleep" in subprocess.run(
            [os.path.join(ROOT, "scripts", "sql"), "-N", "-B", "-e", "SHOW PROCESSLIST"],
            capture_output=True, text=True).stdout, timeout=10, interval=0.05), "the lock was not taken"
        locked = time.time()
        results = []

        def me():
            t = time.time()
            r = requests.get(url("/users/me"), headers=bearer(token), timeout=60)
            results.append((time.time() - t, r.status_code, r.text))

        clients = [threading.Thread(target=me) for _ in range(4)]  # fewer than the workers
        for c in clients:
            c.start()
        time.sleep(0.3)
        t = time.time()
        health = requests.get(url("/healthz"), timeout=60)
        health_took = time.time() - t
        for c in clients:
            c.join(timeout=90)
        answered = time.time()
    finally:
        locker.wait(timeout=hold + 30)
    assert health.status_code == 503 and health_took <= HEALTHZ_BOUND, (health.status_code, health_took)
    assert len(results) == 4
    for took, status, body in results:
        assert status == 503 and took <= LOCKED_BOUND, (status, round(took, 2), body)
        assert_clean_503(body)
    assert answered - locked < hold, "the lock ended before the answers came: the test proves nothing"
    # Four requests, two batched statements at most (read_batch): the other
    # two did not queue behind the stuck ones, they read alone or in a
    # group of their own (a worker's, taken when they arrived together).
    assert reads_not_batched() - alone_before >= 2
    print(f"locked: /users/me 503 after {max(r[0] for r in results):.2f} s, /healthz 503 after "
          f"{health_took:.2f} s")
    # The access log says what the clients got.
    assert wait_for(lambda: sum(" GET /users/me 503 " in line for line in log_since(offset)) >= 4, timeout=5)
    assert not any(" GET /users/me 200 " in line for line in log_since(offset))
    assert requests.get(url("/users/me"), headers=bearer(token), timeout=10).status_code == 200
    assert requests.get(url("/healthz"), timeout=10).status_code == 200


def test_a_hung_mariadb_gives_503_in_time_and_recovers():
    """MariaDB stopped with SIGSTOP: its socket still accepts, nothing answers."""
    email = unique_email("hung")
    register(email)
    token = login(email)
    db_pid = int(open(DB_PID_FILE).read())
    os.kill(db_pid, signal.SIGSTOP)
    try:
        answers = []
        for _ in range(2):
            for path, kwargs in (("/healthz", {}), ("/users/me", {"headers": bearer(token)})):
                t = time.time()
                r = requests.get(url(path), timeout=60, **kwargs)
                answers.append((path, r.status_code, round(time.time() - t, 2), r.text))
    finally:
        os.kill(db_pid, signal.SIGCONT)
    print(f"hung: {[a[:3] for a in answers]}")
    for path, status, took, body in answers:
        assert status == 503, (path, status, body)
        assert took <= (HEALTHZ_BOUND if path == "/healthz" else HUNG_BOUND), (path, took)
        assert_clean_503(body)
    assert wait_for(lambda: requests.get(url("/users/me"), headers=bearer(token), timeout=10).status_code == 200,
                    timeout=RECOVERY_BOUND)
    assert requests.get(url("/healthz"), timeout=10).status_code == 200


def fcgi_call(sock, params, body=b""):
    """One FastCGI request on `sock`: ('refused', ...) when the connection was
    never made; any failure after connecting is an exception."""
    try:
        c = fcgi_client.Connection(sock)
    except OSError:
        time.sleep(0.01)
        return "refused", "", None
    try:
        c.begin(dict(params, CONTENT_LENGTH=str(len(body))))
        c.send_stdin(body)
        c.end_stdin()
        status, _, answer = c.response()
        return status, answer.decode(errors="replace"), None
    finally:
        c.close()


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_sigterm_under_load_answers_every_accepted_request_and_exits_0(tmp_path, kind):
    """On a socket of its own (`listen` set), which dies with the process."""
    email = unique_email("sigterm")
    register(email)
    token = login(email)
    port = HTTP_PORT + 7  # free in the stack's range
    sock = os.path.join(VAR, "run", "outage-sigterm.sock") if kind == "unix" else ("127.0.0.1", port)
    listen = sock if kind == "unix" else f"127.0.0.1:{port}"
    log_path = tmp_path / "sigterm.log"
    # Two workers for 16 clients: connections wait in the socket's queue when the signal comes.
    env = stack_env(FCGI_USERS_LISTEN=listen, FCGI_USERS_WORKERS="2", FCGI_USERS_HOOK_CONCURRENCY="0")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([BINARY, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        assert wait_for(lambda: "serving on" in log_path.read_text(), timeout=20), log_path.read_text()
        me = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/users/me", "HTTP_AUTHORIZATION": f"Bearer {token}"}
        form = urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode()
        log_in = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/jwt/login",
                  "CONTENT_TYPE": "application/x-www-form-urlencoded"}
        # Logins wait for the hash threads: those queued when the signal comes are answered too.
        load = Load(12, lambda: fcgi_call(sock, me))
        logins = Load(4, lambda: fcgi_call(sock, log_in, form))
        try:
            assert wait_for(lambda: load.count(200) >= 200, timeout=60)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=60)
            time.sleep(0.3)
        finally:
            results = load.stop() + logins.stop()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    statuses = Counter(r[2] for r in results)
    print(f"SIGTERM under load on {kind}: {dict(statuses)}, exit status {rc}")
    assert rc == 0, log_path.read_text()[-2000:]
    accepted = {s: n for s, n in statuses.items() if s != "refused"}
    assert set(accepted) == {200}, accepted
    assert statuses["refused"] > 0, "the load did not outlast the process"
    if kind == "unix":
        assert not os.path.exists(sock)


def test_fcgi_users_stopped_the_api_and_the_sites_it_protects_answer_503_json():
    email = unique_email("app-stopped")
    register(email)
    token = login(email)
    stack("app-stop")
    try:
        for where in [url("/users/me")] + [SITE + p for p in ("/private/", "/admin/", "/app/x", "/optional/x")]:
            r = requests.get(where, headers=bearer(token), timeout=ANSWER_BOUND)
            assert r.status_code == 503, (where, r.status_code, r.text)
            assert r.headers["content-type"] == "application/json", where
            assert_clean_503(r.text)
    finally:
        stack("app-start")
    assert wait_for(lambda: requests.get(url("/users/me"), headers=bearer(token), timeout=5).status_code == 200)


APACHE = f"http://127.0.0.1:{HTTP_PORT + 4}"  # apache/fcgi-users-apache.conf, its own fcgi-users on TCP
APACHE_APP_PID_FILE = os.path.join(VAR, "run", "fcgi-users-tcp.pid")
APACHE_CONTENT = ("protected by fcgi-users", "superusers only")  # the folders' pages (scripts/lib.sh)


def apache_get(path, token=None):
    r = requests.get(APACHE + path, headers=bearer(token) if token else {}, timeout=ANSWER_BOUND)
    assert not any(page in r.text for page in APACHE_CONTENT), (path, r.status_code, r.text)
    return r.status_code


def test_apache_protected_folders_refuse_while_the_database_or_fcgi_users_is_down():
    """mod_authnz_fcgi: an authorizer that cannot decide is a refusal, never the page."""
    email = unique_email("apache-outage")
    register(email)
    token = login(email)
    make_superuser(email)
    assert requests.get(APACHE + "/admin/", headers=bearer(token), timeout=ANSWER_BOUND).status_code == 200
    stack("db-stop")
    try:
        for path in ("/protected/", "/admin/"):
            assert apache_get(path, token) == 503, path  # fcgi-users' answer, Apache's own body
            assert apache_get(path) == 401, path  # no credential: refused without the database
        r = requests.get(APACHE + "/users/me", headers=bearer(token), timeout=ANSWER_BOUND)
        assert r.status_code == 503
        assert_clean_503(r.text)
    finally:
        stack("db-start")
    assert wait_for(lambda: requests.get(APACHE + "/admin/", headers=bearer(token), timeout=5).status_code == 200,
                    timeout=RECOVERY_BOUND)

    pid = int(open(APACHE_APP_PID_FILE).read())
    os.kill(pid, signal.SIGKILL)
    try:
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                        open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z", timeout=5)
        for path in ("/protected/", "/admin/"):
            # mod_authnz_fcgi answers 500 when it cannot reach its authorizer.
            assert apache_get(path, token) == 500, path
            assert apache_get(path) == 500, path
        assert requests.get(APACHE + "/users/me", headers=bearer(token), timeout=ANSWER_BOUND).status_code == 503
    finally:
        stack("apache-start")  # starts its fcgi-users again (Apache itself kept running)
    assert wait_for(lambda: requests.get(APACHE + "/admin/", headers=bearer(token), timeout=5).status_code == 200,
                    timeout=RECOVERY_BOUND)


@pytest.mark.parametrize("passed_on", ["systemd", "stdin"])
def test_restart_on_a_socket_that_outlives_the_process_gives_no_502(passed_on):
    """The socket passed as systemd does (descriptor 3, LISTEN_FDS) or as
    spawn-fcgi does (descriptor 0), by a holder that keeps it across restarts."""
    email = unique_email("restart")
    register(email)
    token = login(email)
    pid_file = os.path.join(VAR, "run", "outage-held.pid")
    if os.path.exists(pid_file):
        os.remove(pid_file)  # a previous holder's
    stack("app-stop")
    env = stack_env(FCGI_USERS_LISTEN="")  # serve the descriptor the holder passes (systemd's protocol)
    holder = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests/blackbox/socket_holder.py")]
                              + (["--stdin"] if passed_on == "stdin" else [])
                              + [APP_SOCKET, pid_file, BINARY, "serve"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=open(LOG_FILE, "a"))
    try:
        assert wait_for(lambda: os.path.exists(pid_file), timeout=20)
        assert wait_for(lambda: requests.get(url("/healthz"), timeout=5).status_code == 200, timeout=20)

        def me():
            r = requests.get(url("/users/me"), headers=bearer(token), timeout=60)
            return r.status_code, r.text, None

        load = Load(8, me)
        try:
            since = 0.0
            for _ in range(3):
                # Answers counted from when this process replaced the last: it
                # serves, so its signal handler is in place (a signal sent while
                # the holder forks it would be lost, and a process still in its
                # first milliseconds would not be what is tested).
                assert wait_for(lambda: load.count(200, since=since) >= 50, timeout=60)
                old = int(open(pid_file).read())
                os.kill(old, signal.SIGTERM)
                assert wait_for(lambda: int(open(pid_file).read()) != old, timeout=30)
                since = time.time()
            assert wait_for(lambda: load.count(200, since=since) >= 50, timeout=60)
        finally:
            results = load.stop()
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=60)
        if os.path.exists(APP_SOCKET):
            os.unlink(APP_SOCKET)  # the holder's (app-start waits for the socket to appear)
        stack("app-start")
        assert wait_for(lambda: requests.get(url("/healthz"), timeout=5).status_code == 200)
    statuses = Counter(r[2] for r in results)
    print(f"3 restarts on a socket held and passed on {passed_on} under load: {dict(statuses)}")
    assert set(statuses) == {200}, statuses
