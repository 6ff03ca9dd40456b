"""The foundation through the real nginx and MariaDB: health, routing
errors, body limits, and the process's behaviour on a database outage and on
SIGTERM."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import requests

import fcgi_client
from conftest import (APP_PID_FILE, APP_SOCKET, BASE, BINARY, PASSWORD, VAR, bearer, login, register, stack, stack_env,
                      unique_email, url, wait_for)


def test_healthz_answers_ok():
    r = requests.get(url("/healthz"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok"}


def test_unknown_route_is_404_json():
    for path in ("/auth/nothing", "/users/me/extra", "/healthz/x", "/elsewhere"):
        r = requests.get(url(path))
        assert r.status_code == 404, path
        assert r.json() == {"detail": "Not Found"}


def test_a_trailing_slash_is_redirected_as_fastapi_does():
    """Starlette's redirect_slashes: a 307 to the path without the slash, which
    clients follow with their method, body and credentials."""
    email = unique_email("slash")
    register(email)
    token = login(email)
    r = requests.get(url("/users/me/?x=1"), headers=bearer(token), allow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["location"] == "/users/me?x=1"
    assert r.content == b""
    followed = requests.get(url("/users/me/"), headers=bearer(token))
    assert followed.status_code == 200 and followed.json()["email"] == email
    assert [h.status_code for h in followed.history] == [307]
    # A POST is repeated, body and all.
    r = requests.post(url("/auth/jwt/login/"), data={"username": email, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    assert [h.status_code for h in r.history] == [307]
    # The routes nginx matches exactly too.
    for path in ("/healthz/", "/openapi.json/?x=1", "/metrics/"):
        r = requests.get(url(path), allow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == path.replace("/?", "?").rstrip("/"), path
        assert requests.get(url(path)).status_code == 200, path
    # Nothing to redirect to: still 404, JSON.
    for path in ("/users/", "/nothing/", "/users/me%2F", "/healthz/x/"):
        r = requests.get(url(path), allow_redirects=False)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, path


def test_wrong_method_is_405_json():
    r = requests.get(url("/auth/register"))
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert "POST" in r.headers["allow"]
    assert requests.put(url("/users/me")).status_code == 405


def test_body_over_the_limit_is_413_json():
    r = requests.post(url("/auth/register"), data=b"x" * (65536 + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": "Request Entity Too Large"}
    # Beyond nginx's own limit the answer has the same shape.
    r = requests.post(url("/auth/register"), data=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": "Request Entity Too Large"}


def test_broken_json_is_422_with_the_error_list():
    for body in (b"{", b"{\"email\": ", b"not json", b"[1, 2", b"\xff\xfe"):
        r = requests.post(url("/auth/register"), data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, body
        detail = r.json()["detail"]
        assert isinstance(detail, list) and detail[0]["loc"][0] == "body"
        assert {"loc", "msg", "type"} <= set(detail[0])


def test_wrong_content_type_and_wrong_types_are_422():
    r = requests.post(url("/auth/register"), data='{"email": "a@b.co", "password": "x"}',
                      headers={"Content-Type": "text/plain"})
    assert r.status_code == 422
    r = requests.post(url("/auth/register"), json={"email": 5, "password": ["x"]})
    assert r.status_code == 422
    locs = sorted(tuple(e["loc"]) for e in r.json()["detail"])
    assert locs == [("body", "email"), ("body", "password")]


def test_content_length_larger_than_the_body():
    # nginx waits for the rest, gives up (client_body_timeout), and nothing
    # reaches fcgi-users; the service keeps answering.
    s = socket.create_connection(("127.0.0.1", int(url("").rsplit(":", 1)[1])), timeout=30)
    s.sendall(b"POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"email\":")
    s.shutdown(socket.SHUT_WR)
    answer = s.recv(4096)
    s.close()
    assert b"201" not in answer and b"500" not in answer
    assert requests.get(url("/healthz")).status_code == 200
    # Straight to the FastCGI socket, a short body gets a clear 400.
    status, _, body = fcgi_client.request(APP_SOCKET, {
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "100"}, b'{"email":')
    assert status == 400
    assert b"Content-Length" in body


def test_database_outage_is_503_then_recovers():
    email = "outage." + str(time.time()) + "@camelot.bt"
    register(email)
    token = login(email)
    stack("db-stop")
    try:
        r = requests.get(url("/healthz"))
        assert r.status_code == 503
        assert "detail" in r.json()
        r = requests.get(url("/users/me"), headers=bearer(token))
        assert r.status_code == 503
        assert "SQL" not in r.text and "mysql" not in r.text.lower()
        r = requests.post(url("/auth/register"), json={"email": "x" + email, "password": "guinevere-forever"})
        assert r.status_code == 503
        # These two answer before looking at the address, but not before the database.
        for path in ("/auth/forgot-password", "/auth/request-verify-token"):
            assert requests.post(url(path), json={"email": email}).status_code == 503, path
    finally:
        stack("db-start")
    assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)
    # Every worker's connection comes back: none answers 503 any more.
    for _ in range(40):
        r = requests.get(url("/users/me"), headers=bearer(token))
        assert r.status_code == 200, r.text


def test_sigterm_finishes_the_request_in_flight_then_exits():
    pid = int(open(APP_PID_FILE).read())
    conn = fcgi_client.Connection(APP_SOCKET)
    try:
        status, _, answer = conn.register_across(lambda: os.kill(pid, signal.SIGTERM),
                                                 f"{time.time()}@inflight.camelot.bt", "guinevere-forever")
        assert status == 201, answer
    finally:
        conn.close()
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10), "fcgi-users did not exit"
    stack("app-start")
    assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)


def test_metrics_count_requests_by_route_pattern():
    def count(text, line_start):
        for line in text.splitlines():
            if line.startswith(line_start):
                return int(line.rsplit(" ", 1)[1])
        return 0

    before = requests.get(url("/metrics"))
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    key = 'fcgi_users_requests_total{method="GET",route="/healthz",status="200"}'
    n = count(before.text, key)
    for _ in range(3):
        requests.get(url("/healthz"))
    requests.get(url("/users/0b7e0f8e-1c39-4c6e-9a35-0f6f3c8e2d11"))
    after = requests.get(url("/metrics")).text
    assert count(after, key) == n + 3
    assert count(after, 'fcgi_users_requests_total{method="GET",route="/users/{id}",status="401"}') >= 1
    assert "0b7e0f8e" not in after  # labels are route patterns, never a client's path
    assert "fcgi_users_database_up 1" in after
    assert 'fcgi_users_hook_events{state="pending"}' in after
    assert "fcgi_users_request_duration_seconds_count" in after


def test_openapi_document_lists_every_route():
    r = requests.get(url("/openapi.json"))
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in (("/auth/register", "post"), ("/auth/jwt/login", "post"), ("/auth/jwt/logout", "post"),
                         ("/auth/cookie/login", "post"), ("/auth/database/logout", "post"),
                         ("/auth/forgot-password", "post"), ("/auth/reset-password", "post"),
                         ("/auth/request-verify-token", "post"), ("/auth/verify", "post"), ("/users/me", "get"),
                         ("/users/me", "patch"), ("/users/{id}", "delete"), ("/auth/check", "get")):
        assert method in paths[path], (path, method)
    assert "200" in paths["/auth/jwt/login"]["post"]["responses"]
    assert "204" in paths["/auth/cookie/login"]["post"]["responses"]
    assert "UserRead" in doc["components"]["schemas"]


def test_database_killed_then_started_at_once_comes_back():
    """kill -9 leaves a zombie until its parent reaps it; scripts/stack db-start
    right after must start a new server, not take the zombie for a live one."""
    with open(os.path.join(VAR, "run", "mariadb.pid")) as f:
        os.kill(int(f.read().strip()), signal.SIGKILL)
    stack("db-start")
    assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200, timeout=30)
    assert register()["email"]


def _stat_fields(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()


def _running(pid):
    """The process exists and is no zombie (a zombie has ended; its parent reaps it)."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def test_what_nginx_answers_itself_is_json_with_its_status():
    """fcgi-users down is a 503 (not nginx's 502 with a 503 body); a request
    nginx refuses before any location (a NUL in the path, a URI or header too
    long) still answers JSON."""
    import http.client
    host, port = BASE.split("//", 1)[1].split(":")

    def raw(path, headers=None, method="GET", body=None):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("content-type"), r.read()
        finally:
            conn.close()

    assert raw("/users/x%00") == (400, "application/json", b'{"detail":"Bad Request"}')
    assert raw("/users/" + "a" * 20000) == (414, "application/json", b'{"detail":"Request-URI Too Long"}')
    status, kind, body = raw("/users/me", {"Cookie": "c=" + "a" * 20000})
    assert (status, kind) == (400, "application/json") and json.loads(body)["detail"], body
    # A method nginx refuses itself, a transfer coding it cannot read, an
    # HTTP version it does not speak: JSON too; fcgi-users' own 405 keeps Allow.
    assert raw("/healthz", method="TRACE")[:2] == (405, "application/json")
    status, kind, body = raw("/auth/register", {"Transfer-Encoding": "gzip"}, method="POST", body=b"{}")
    assert (status, kind, body) == (501, "application/json", b'{"detail":"Not Implemented"}')
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"GET /users/me HTTP/2.5\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 505") and b"application/json" in head.lower(), head
    assert body == b'{"detail":"HTTP Version Not Supported"}'
    r = requests.put(url("/healthz"))
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"}) and "GET" in r.headers["allow"]
    # /auth, as /users: FastAPI's JSON 404, not nginx's redirect to the folder.
    for path in ("/auth", "/users"):
        for method in ("GET", "POST"):
            r = requests.request(method, url(path), allow_redirects=False)
            assert (r.status_code, r.json()) == (404, {"detail": "Not Found"}), (method, path)
    stack("app-stop")
    try:
        for path in ("/healthz", "/users/me", "/auth/jwt/login"):
            r = requests.get(url(path))
            assert (r.status_code, r.json()) == (503, {"detail": "Service Unavailable"}), path
            assert r.headers["content-type"] == "application/json"
    finally:
        stack("app-start")
    assert requests.get(url("/healthz")).status_code == 200


def test_app_killed_then_started_answers_when_app_start_returns():
    """kill -9 leaves fcgi-users' socket file behind; scripts/stack app-start
    must not take that stale file for the new server's socket (nginx would
    answer 502 until the new one listens)."""
    pid = int(open(APP_PID_FILE).read())
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not _running(pid), timeout=10)
    assert os.path.exists(APP_SOCKET)  # what the killed server left
    stack("app-start")
    assert requests.get(url("/healthz")).status_code == 200


def test_hash_threads_run_at_hash_nice_and_workers_at_normal_priority():
    # A login storm must not delay token checks: the hash threads (two per
    # hash slot) that finish the requests which hash a password run hash_nice
    # (10) above the process's own nice value (0, or what the stack was
    # started under), every other thread at it.
    out = subprocess.run([BINARY, "check-config"], capture_output=True, text=True, env=stack_env(),
                         check=True).stdout
    conf = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    slots = int(conf["hash_slots"]) or os.cpu_count()
    assert conf["hash_nice"] == "10"
    pid = int(open(APP_PID_FILE).read())
    nices = []
    for task in os.listdir(f"/proc/{pid}/task"):
        stat = open(f"/proc/{pid}/task/{task}/stat").read()
        nices.append(int(stat.rsplit(")", 1)[1].split()[16]))  # field 19: nice
    own = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])
    hashing = min(19, own + 10)  # 19 is the lowest priority there is
    assert hashing > own, "the stack runs at nice 19: no lower priority is left for hashing"
    assert nices.count(hashing) == 2 * slots, nices
    assert nices.count(own) == len(nices) - 2 * slots, nices  # workers, main thread, purger, ...


def _hash_helpers(pid):
    """fcgi-users' hash helpers: its children named fcgi-users-hash."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue  # ended meanwhile
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        fields = rest.split()
        if name == "fcgi-users-hash" and int(fields[1]) == pid:  # field 4: parent
            out.append(int(entry))
    return sorted(out)


def test_passwords_are_hashed_in_helpers_that_every_other_process_preempts(default_app):
    # Nice values order threads within a session only: the scheduler weighs
    # each session (autogroup) or service as one. So argon2 runs in helper
    # processes, one per hash slot, each in a session of its own at
    # hash_nice, the session's weight too: MariaDB and nginx run first.
    out = subprocess.run([BINARY, "check-config"], capture_output=True, text=True, env=stack_env(),
                         check=True).stdout
    conf = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    slots = int(conf["hash_slots"]) or os.cpu_count()
    nice = int(conf["hash_nice"])
    pid = int(open(APP_PID_FILE).read())
    own = int(_stat_fields(pid)[16])
    want = min(19, own + nice)
    helpers = _hash_helpers(pid)
    assert len(helpers) == slots, helpers

    def settled(h):  # a helper sets its session's nice value as the kernel lets it (ten a second)
        group = f"/proc/{h}/autogroup"
        return int(_stat_fields(h)[16]) == want and (
            not os.path.exists(group) or f" nice {want}" in open(group).read())
    for h in helpers:
        assert int(_stat_fields(h)[3]) == h  # field 6: session; its own
        assert wait_for(lambda: settled(h), timeout=5), (open(f"/proc/{h}/autogroup").read(), _stat_fields(h)[16])

    # A login's hash is the helpers' CPU time.
    email = register()["email"]
    ticks = lambda: sum(int(_stat_fields(h)[11]) + int(_stat_fields(h)[12]) for h in helpers)  # utime, stime
    before = ticks()
    for _ in range(3):
        assert login(email)
    assert ticks() > before

    # A helper killed: logins go on (hashed in fcgi-users meanwhile), a wrong
    # password is still refused, and a new helper takes its place.
    os.kill(helpers[0], signal.SIGKILL)
    results = []
    threads = [threading.Thread(target=lambda: results.append(requests.post(
        url("/auth/jwt/login"), data={"username": email, "password": PASSWORD}).status_code))
        for _ in range(2 * slots)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * (2 * slots)
    r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD + "x"})
    assert r.status_code == 400 and r.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}
    # Replaced when its turn comes (at most once a second): logins until then.
    assert wait_for(lambda: login(email) and len(_hash_helpers(pid)) == slots
                    and helpers[0] not in _hash_helpers(pid), interval=0.5)
    assert all(wait_for(lambda: settled(h), timeout=5) for h in _hash_helpers(pid))

    # Helpers end with fcgi-users, even when it is killed (their channel closes).
    helpers = _hash_helpers(pid)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(_running(h) for h in helpers), timeout=10)
