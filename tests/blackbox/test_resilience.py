"""The server keeps serving through what a hostile or overloaded world does to
it: slow request bodies (direct and through Apache's mod_proxy_fcgi) and a
process out of file descriptors under a burst of logins."""
# ctest labels: concurrency  # races between threads: also under ThreadSanitizer
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

import requests

import fcgi_client
from conftest import (APP_SOCKET, BASE, BINARY, PASSWORD, ROOT, VAR, admin_sql, database_at_version, register,
                      stack_env, unique_email, wait_for)

HTTP_PORT = int(BASE.rsplit(":", 1)[1])
APACHE_PORT = HTTP_PORT + 4
BODY_TIMEOUT = int(os.environ.get("FCGI_USERS_REQUEST_BODY_TIMEOUT", "10"))  # the stack's setting
WORKERS = int(os.environ.get("FCGI_USERS_WORKERS", "8"))


def test_a_body_trickled_past_the_deadline_gets_408():
    c = fcgi_client.Connection(APP_SOCKET)
    c.sock.settimeout(BODY_TIMEOUT + 30)
    stop = threading.Event()

    def trickle():  # one byte every half second: no single read ever waits long
        try:
            while not stop.wait(0.5):
                c.send_stdin(b" ")
        except OSError:
            pass

    try:
        c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register", "CONTENT_TYPE": "application/json",
                 "CONTENT_LENGTH": "1000"})
        c.send_stdin(b"{")
        t = threading.Thread(target=trickle)
        t.start()
        status, _, body = c.response()
        assert status == 408, body
    finally:
        stop.set()
        c.close()


def _slow_apache_request():
    s = socket.create_connection(("127.0.0.1", APACHE_PORT), timeout=BODY_TIMEOUT + 60)
    s.sendall(b"POST /auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"email\"")
    return s


def test_slow_bodies_through_apache_do_not_stop_the_service():
    slow = [_slow_apache_request() for _ in range(WORKERS + 4)]
    try:
        time.sleep(1)  # every worker now waits on a body
        r = requests.get(f"http://127.0.0.1:{APACHE_PORT}/healthz", timeout=BODY_TIMEOUT + 40)
        assert r.status_code == 200
        for s in slow:
            head = s.recv(4096)
            assert re.match(rb"HTTP/1\.[01] (408|400) ", head), head[:80]
    finally:
        for s in slow:
            s.close()


def test_a_steady_but_slow_body_through_apache_gets_a_json_error():
    """600 bytes a second, above mod_reqtimeout's minimum rate, never idle:
    Apache hands it to fcgi-users as it comes, and fcgi-users' deadline ends
    it: its 408 and close reach Apache mid-send, which answers 503. That 503
    was Apache's HTML page; it is the API's JSON now. (Apache's body limits
    apply to a whole virtual host, so they set no maximum to come first.)"""
    s = socket.create_connection(("127.0.0.1", APACHE_PORT), timeout=BODY_TIMEOUT + 60)
    started = time.monotonic()
    try:
        s.sendall(b"POST /auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 30000\r\n\r\n")
        s.setblocking(False)
        answer = b""
        while time.monotonic() - started < BODY_TIMEOUT + 30:
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
            except BlockingIOError:
                pass
            try:
                s.send(b" " * 60)
            except OSError:
                pass
            time.sleep(0.1)
    finally:
        s.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), head[:200]
    assert b"content-type: application/json" in head.lower(), head
    assert body.startswith(b'{"detail":"Service Unavailable"}'), body[:200]


def test_out_of_descriptors_a_burst_of_logins_then_healthz(tmp_path):
    email = unique_email("starved")
    register(email)
    sock = os.path.join(VAR, "run", "starved.sock")
    log_path = tmp_path / "starved.log"
    env = stack_env(FCGI_USERS_LISTEN=sock)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["bash", "-c", 'ulimit -n 64 && exec "$0" serve', BINARY], env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        assert wait_for(lambda: os.path.exists(sock), timeout=20), log_path.read_text()
        body = urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode()
        params = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/jwt/login",
                  "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body))}
        results = []

        def login():
            try:
                c = fcgi_client.Connection(sock)
                c.sock.settimeout(300)
                try:
                    c.begin(params)
                    c.send_stdin(body)
                    c.end_stdin()
                    results.append(c.response()[0])
                finally:
                    c.close()
            except OSError as e:
                results.append(repr(e))

        started = time.time()
        threads = [threading.Thread(target=login) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        elapsed = time.time() - started
        assert proc.poll() is None, "the server exited: " + log_path.read_text()[-2000:]
        assert len(results) == 200
        assert all(r in (200, 503) for r in results), [r for r in results if r not in (200, 503)][:5]
        assert results.count(200) > 0
        status, _, _ = fcgi_client.request(sock, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"})
        assert status == 200
        _, _, metrics = fcgi_client.request(sock, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/metrics"})
        emfile = re.search(rb'fcgi_users_accept_errors_total\{error="EMFILE"\} (\d+)', metrics)
        assert emfile and int(emfile.group(1)) > 0, "the burst never ran out of descriptors"
        lines = [l for l in log_path.read_text().splitlines() if "accept failed" in l]
        assert 1 <= len(lines) <= elapsed + 2  # at most one a second
        print(f"burst: {results.count(200)} x 200, {results.count(503)} x 503 in {elapsed:.1f} s; "
              f"{int(emfile.group(1))} EMFILE accepts retried, {len(lines)} log lines")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_out_of_descriptors_a_hook_waits_and_spends_no_attempt(tmp_path):
    """A hook command that cannot start because fcgi-users has no descriptor
    left (it cannot make the command's pipes) did not fail: its attempts
    used to run out in a minute of shortage, the event failing for good
    without the command ever running. Its own database, so that the stack's
    servers do not deliver the event first."""
    latest = max(int(n[:3]) for n in os.listdir(os.path.join(ROOT, "sql")) if n[:3].isdigit())
    with database_at_version(tmp_path, latest) as db:
        delivered = tmp_path / "delivered"
        sock = os.path.join(VAR, "run", "starved-hooks.sock")
        log_path = tmp_path / "starved-hooks.log"
        env = stack_env(FCGI_USERS_LISTEN=sock, FCGI_USERS_DB_NAME=db, FCGI_USERS_HOOK_MAX_ATTEMPTS="1",
                        FCGI_USERS_HOOK_BACKOFF="1", FCGI_USERS_HOOK_AFTER_REGISTER=f'echo "$1" >> {delivered}')
        with open(log_path, "w") as log:
            proc = subprocess.Popen(["bash", "-c", 'ulimit -n 64 && exec "$0" serve', BINARY], env=env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        held = []
        try:
            assert wait_for(lambda: os.path.exists(sock), timeout=20), log_path.read_text()
            time.sleep(1.5)  # its hook dispatcher has claimed once: connected to the database
            for _ in range(120):  # idle connections until it has no descriptor left
                held.append(socket.socket(socket.AF_UNIX))
                held[-1].connect(sock)
            assert wait_for(lambda: "accept failed" in log_path.read_text(), timeout=20), log_path.read_text()
            user_id = str(uuid.uuid4())
            inserted = admin_sql("INSERT INTO hook_event (event, user_id, user_email, payload, next_attempt_at) "
                                 f"VALUES ('after_register', '{user_id}', 'starved@camelot.bt', '{{}}', "
                                 "UTC_TIMESTAMP(6))", db)
            assert inserted.returncode == 0, inserted.stderr
            assert wait_for(lambda: "could not be started" in log_path.read_text(), timeout=20), \
                log_path.read_text()[-2000:]
            time.sleep(2.5)  # tried again each second meanwhile, every time in vain

            def state():  # attempts is 1 while a claim holds the row, for a moment each second
                return admin_sql(f"SELECT attempts, failed_at IS NULL, done_at IS NULL FROM hook_event "
                                 f"WHERE user_id = '{user_id}'", db).stdout.split()
            assert wait_for(lambda: state() == ["0", "1", "1"], timeout=10), state()  # no attempt spent
            for s in held:
                s.close()
            held = []
            assert wait_for(lambda: delivered.exists() and user_id in delivered.read_text(), timeout=30), \
                log_path.read_text()[-2000:]
            assert admin_sql(f"SELECT attempts, done_at IS NOT NULL FROM hook_event WHERE user_id = '{user_id}'",
                             db).stdout.split() == ["1", "1"]
            _, _, metrics = fcgi_client.request(sock, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/metrics"})
            not_started = re.search(rb'fcgi_users_hook_runs_total\{outcome="not_started"\} (\d+)', metrics)
            assert not_started and int(not_started.group(1)) >= 2, metrics
        finally:
            for s in held:
                s.close()
            proc.terminate()
            proc.wait(timeout=30)


def test_three_hundred_connections_waiting_at_once_are_all_queued():
    # A unix socket refuses a connection at once when its backlog is full
    # (EAGAIN: nginx answers 502), so the default listen_backlog must hold
    # what a web server sends at once: scripts/bench's 256 connections got
    # 502s with a backlog of 256. The workers block on the first connections
    # (which send nothing); every other one must wait in the queue.
    held = []
    refused = 0
    try:
        for _ in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(APP_SOCKET)
                held.append(s)
            except BlockingIOError:
                refused += 1
                s.close()
        assert refused == 0, f"{refused} of 300 connections refused (listen backlog full)"
    finally:
        for s in held:
            s.close()
    status, _, _ = fcgi_client.request(APP_SOCKET, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"})
    assert status == 200
