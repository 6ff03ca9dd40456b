"""Kept FastCGI connections (FCGI_KEEP_CONN, nginx's fastcgi_keep_conn with an
upstream keepalive): requests follow one another on one connection, an idle
kept connection holds no worker, and one request's input can never be read
as the next request."""
# ctest labels: concurrency  # workers and hash threads hand connections back: also under ThreadSanitizer
import concurrent.futures
import json
import os
import re
import signal
import struct
import subprocess
import time

import pytest
import requests

import fcgi_client
from conftest import (APP_PID_FILE, APP_SOCKET, BINARY, bearer, login, register, restart_app, stack,
                      stack_env, unique_email, url, wait_for)

ME = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/users/me"}
HEALTH = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"}


def workers():
    out = subprocess.run([BINARY, "check-config"], capture_output=True, text=True, env=stack_env(), check=True).stdout
    return int(re.search(r"^workers = (\d+)$", out, re.M).group(1))


def accepted():
    text = requests.get(url("/metrics")).text
    return int(re.search(r"^fcgi_users_fastcgi_connections_accepted_total (\d+)$", text, re.M).group(1))


def test_nginx_sends_many_requests_on_few_connections():
    before = accepted()
    for _ in range(60):
        assert requests.get(url("/healthz")).status_code == 200
    # One client at a time: nginx reuses one kept connection (a few at most,
    # if a metrics scrape or another client interleaves).
    assert accepted() - before <= 3


def test_requests_follow_one_another_on_a_kept_connection():
    email = unique_email("kept")
    token = login(register(email)["email"])
    c = fcgi_client.Connection(APP_SOCKET)
    try:
        auth = dict(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
        for _ in range(3):
            status, _, body = c.request(auth)
            assert status == 200 and json.loads(body)["email"] == email
        # A body, then a request without one, then a login (answered by a hash thread).
        other = unique_email("kept-register")
        payload = json.dumps({"email": other, "password": "guinevere-forever"}).encode()
        status, _, body = c.request({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register",
                                     "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload))}, payload)
        assert status == 201 and json.loads(body)["email"] == other
        status, _, _ = c.request(HEALTH)
        assert status == 200
        form = f"username={other}&password=guinevere-forever".encode()
        status, _, body = c.request({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/jwt/login",
                                     "CONTENT_TYPE": "application/x-www-form-urlencoded",
                                     "CONTENT_LENGTH": str(len(form))}, form)
        assert status == 200 and "access_token" in json.loads(body)
        status, _, body = c.request(auth)
        assert status == 200 and json.loads(body)["email"] == email
        # Without FCGI_KEEP_CONN the connection ends with the answer.
        status, _, _ = c.request(HEALTH, keep=False)
        assert status == 200
        assert c.next_bytes() == b""
    finally:
        c.close()


def assert_a_new_connection_is_answered_within(seconds):
    start = time.monotonic()
    fresh = fcgi_client.Connection(APP_SOCKET)
    fresh.sock.settimeout(seconds)
    try:
        assert fresh.request(HEALTH, keep=False)[0] == 200
    finally:
        fresh.close()
    assert time.monotonic() - start < seconds


def test_idle_kept_connections_hold_no_worker():
    """More idle kept connections than workers: a new request is still
    answered at once (a worker that waited on its kept connection would leave
    none to accept it)."""
    idle = [fcgi_client.Connection(APP_SOCKET) for _ in range(workers() + 4)]
    try:
        for c in idle:
            assert c.request(HEALTH)[0] == 200
        assert_a_new_connection_is_answered_within(5)
        # And every idle one still serves its next request.
        for c in idle:
            assert c.request(HEALTH)[0] == 200
    finally:
        for c in idle:
            c.close()


def test_many_kept_connections_at_once_are_all_answered():
    def client(_):
        c = fcgi_client.Connection(APP_SOCKET)
        try:
            return [c.request(HEALTH)[0] for _ in range(20)]
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(client, range(40)))
    assert all(statuses == [200] * 20 for statuses in results)


def fake_request(request_id=1):
    """A whole FastCGI request (for /healthz), as a smuggler would hide it in a body."""
    return (fcgi_client.record(fcgi_client.BEGIN_REQUEST, struct.pack(">HB5x", fcgi_client.RESPONDER, 1), request_id)
            + fcgi_client.record(fcgi_client.PARAMS, fcgi_client.encode_params(HEALTH), request_id)
            + fcgi_client.record(fcgi_client.PARAMS, b"", request_id)
            + fcgi_client.record(fcgi_client.STDIN, b"", request_id))


def test_input_past_content_length_is_never_read_as_a_request():
    """The body says CONTENT_LENGTH 2 and carries a whole request's records
    after it: they are the rest of this request's input, read and dropped; the
    connection then serves the next real request, and nothing answers the fake."""
    c = fcgi_client.Connection(APP_SOCKET)
    try:
        c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register", "CONTENT_TYPE": "application/json",
                 "CONTENT_LENGTH": "2"}, keep=True)
        c.send_stdin(b"{}" + fake_request())
        c.end_stdin()
        status, _, body = c.response()
        assert status == 422, body
        assert c.next_bytes(timeout=1) is None  # no answer to the fake
        status, _, _ = c.request(HEALTH)
        assert status == 200
        assert c.next_bytes(timeout=1) is None
    finally:
        c.close()


def test_a_body_left_unread_closes_the_connection():
    """413: the body is not read, so the connection cannot be kept (its
    records would be read as the next request): it is closed after the answer."""
    c = fcgi_client.Connection(APP_SOCKET)
    try:
        c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register", "CONTENT_TYPE": "application/json",
                 "CONTENT_LENGTH": str(100 * 1024 * 1024)}, keep=True)
        c.send_stdin(fake_request())
        status, _, _ = c.response()
        assert status == 413
        assert c.next_bytes() == b""
    finally:
        c.close()


def test_a_kept_connection_closed_by_the_web_server_frees_everything():
    email = unique_email("kept-close")
    token = login(register(email)["email"])
    for _ in range(3 * workers()):
        c = fcgi_client.Connection(APP_SOCKET)
        assert c.request(HEALTH)[0] == 200
        c.close()
    r = requests.get(url("/users/me"), headers=bearer(token))
    assert r.status_code == 200

    def idle():
        text = requests.get(url("/metrics")).text
        return int(re.search(r"^fcgi_users_fastcgi_connections_waiting (\d+)$", text, re.M).group(1))

    # nginx keeps at most 32 (its upstream's keepalive); the closed ones are gone.
    assert wait_for(lambda: idle() <= 32, timeout=5), idle()


def test_a_stop_answers_what_kept_connections_sent_then_closes_them():
    """SIGTERM: a request in flight on a kept connection is answered, then that
    connection is closed (the web server must not send on it again), an idle
    kept connection is closed, and the process exits at once."""
    pid = int(open(APP_PID_FILE).read())
    idle = fcgi_client.Connection(APP_SOCKET)
    busy = fcgi_client.Connection(APP_SOCKET)
    try:
        assert idle.request(HEALTH)[0] == 200
        assert busy.request(HEALTH)[0] == 200
        status, _, answer = busy.register_across(lambda: os.kill(pid, signal.SIGTERM), unique_email("kept-stop"),
                                                 "guinevere-forever", keep=True)
        assert status == 201, answer
        # Closed after that answer: a request sent on it now gets none.
        with pytest.raises(OSError):
            busy.request(HEALTH)
        assert idle.next_bytes() == b""
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=5), "fcgi-users did not exit"
    finally:
        idle.close()
        busy.close()
        stack("app-start")
        assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)


def test_connections_that_stop_halfway_through_a_record_hold_no_worker_for_long(default_app):
    """More connections than workers send half a record header and nothing
    more: each is closed at request_body_timeout, and meanwhile a new request
    is answered once the first of them is (not never)."""
    restart_app(request_body_timeout="2")
    stalled = []
    try:
        for _ in range(workers() + 2):
            c = fcgi_client.Connection(APP_SOCKET)
            c.sock.sendall(fcgi_client.record(fcgi_client.BEGIN_REQUEST, b"\0" * 8)[:5])
            stalled.append(c)
        assert_a_new_connection_is_answered_within(6)
        for c in stalled:
            assert c.next_bytes(timeout=6) == b""
    finally:
        for c in stalled:
            c.close()
