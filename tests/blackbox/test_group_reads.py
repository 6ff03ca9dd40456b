"""Requests that arrive together are taken together by one worker, which reads
the users their tokens name (access JWTs in one statement, database tokens in
another) before running their handlers (read_batch > 0). Each answer must still be its own caller's, read
after the request arrived: a flag changed by SQL counts on the next request,
a missing user or a forged token gets 401, other credentials and routes are
served as alone."""
# ctest labels: concurrency  # a worker serves a group while the others take the next
import json
import os
import re
import struct
import subprocess
import time

import requests

import fcgi_client
from conftest import APP_SOCKET, ROOT, bearer, login, make_jwt, register, restart_app, sql, url, wait_for


def metric(name):
    text = requests.get(url("/metrics")).text
    found = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(found.group(1)) if found else 0


def get(path, headers=None):
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": path}
    for name, value in (headers or {}).items():
        params["HTTP_" + name.upper().replace("-", "_")] = value
    return params


def hold_the_worker():
    """A request whose parameters are still coming: the one worker reads it
    (request_body_timeout at most) while the requests sent now queue up."""
    held = fcgi_client.Connection(APP_SOCKET)
    held.sock.sendall(fcgi_client.record(fcgi_client.BEGIN_REQUEST, struct.pack(">HB5x", fcgi_client.RESPONDER, 0))
                      + fcgi_client.record(fcgi_client.PARAMS, fcgi_client.encode_params(get("/no-such-page"))))
    time.sleep(0.5)
    return held


def let_the_worker_go(held):
    """The held request's end: the worker answers it, then takes the queue."""
    held.sock.sendall(fcgi_client.record(fcgi_client.PARAMS, b"") + fcgi_client.record(fcgi_client.STDIN, b""))
    assert held.response()[0] == 404  # a request that needs no database


def test_a_group_of_requests_reads_its_users_in_one_statement_each_answer_its_own(default_app):
    # One worker: while it is held by a request whose parameters are still
    # coming, the others queue up, and it then takes them as one group.
    restart_app(workers="1", request_body_timeout="10")
    users = []
    for _ in range(6):
        u = register()
        users.append((u, login(u["email"])))
    deactivated_before, deactivated_after = users[-2][0], users[-1][0]
    deleted = register()
    deleted_token = login(deleted["email"])
    sql(f"DELETE FROM user WHERE id = '{deleted['id']}'")
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{deactivated_before['id']}'")
    database_user, other_database_user = register(), register()
    database_token = login(database_user["email"], backend="database")
    other_database_token = login(other_database_user["email"], backend="database")
    ended_database_token = login(database_user["email"], backend="database")
    assert requests.post(url("/auth/database/logout"), headers=bearer(ended_database_token)).status_code == 204
    forged = make_jwt({"sub": users[0][0]["id"], "aud": ["fastapi-users:auth"], "exp": int(time.time()) + 600},
                      "not-the-secret")
    grouped, statements = metric("fcgi_users_user_reads_grouped_total"), metric(
        "fcgi_users_user_read_statements_total")

    held = hold_the_worker()
    # (request, what its answer must say)
    wanted = [(get("/users/me", bearer(token)), (200, u["email"])) for u, token in users[:-2]]
    wanted += [
        (get("/users/me", bearer(users[-2][1])), (401, None)),  # deactivated before it was sent
        (get("/users/me", bearer(users[-1][1])), (401, None)),  # deactivated after, before the read
        (get("/auth/check", bearer(users[0][1])), (200, users[0][0]["id"])),
        (get("/users/me", bearer(deleted_token)), (401, None)),
        (get("/users/me", bearer(forged)), (401, None)),
        (get("/users/me", bearer(database_token)), (200, database_user["email"])),
        (get("/users/me", bearer(other_database_token)), (200, other_database_user["email"])),
        (get("/users/me", bearer(ended_database_token)), (401, None)),
        (get("/users/me", bearer("x" * 43)), (401, None)),  # a database token's form, never issued
        (get("/users/me"), (401, None)),
        (get("/healthz"), (200, None)),
    ]
    sent = []
    try:
        for params, _ in wanted:
            c = fcgi_client.Connection(APP_SOCKET)
            c.begin(params, keep=True)
            c.end_stdin()
            sent.append(c)
        time.sleep(0.5)
        sql(f"UPDATE user SET is_active = FALSE WHERE id = '{deactivated_after['id']}'")
        let_the_worker_go(held)
        seen = []
        for c, (params, _) in zip(sent, wanted):
            status, headers, body = c.response()
            if params["REQUEST_URI"] == "/auth/check":
                seen.append((status, headers.get("x-user-id")))
            elif params["REQUEST_URI"] == "/users/me" and status == 200:
                seen.append((status, json.loads(body)["email"]))
            else:
                seen.append((status, None))
        assert seen == [want for _, want in wanted]
        # The eight requests with a valid access JWT (the deleted user's too)
        # read their users in the group's one statement (the database tokens
        # in another, which these counters, of JWTs' users, do not count).
        assert metric("fcgi_users_user_reads_grouped_total") - grouped == 8
        assert metric("fcgi_users_user_read_statements_total") - statements == 1
        # Each kept connection serves its next request as usual.
        assert sent[0].request(get("/users/me", bearer(users[0][1])))[0] == 200
    finally:
        held.close()
        for c in sent:
            c.close()


def test_a_group_whose_statement_fails_answers_every_request_with_its_error_at_once(default_app):
    """The group's statement cannot run (the user table is locked past the
    statement timeout): every request of the group gets 503 when it fails,
    none reads again after it (one after another, each waiting out the
    timeout, the last would wait 7 timeouts), and the requests after the
    lock are served."""
    timeout = 2
    restart_app(workers="1", request_body_timeout="10", db_statement_timeout=str(timeout))
    users = [register() for _ in range(6)]
    tokens = [login(u["email"]) for u in users]
    grouped = metric("fcgi_users_user_reads_grouped_total")
    held = hold_the_worker()
    sent = []
    locker = subprocess.Popen([os.path.join(ROOT, "scripts", "sql"), "-e",
                               "LOCK TABLES user WRITE; SELECT SLEEP(12); UNLOCK TABLES;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: "User sleep" in sql_processlist(), timeout=10, interval=0.05), "no lock"
        for token in tokens:
            c = fcgi_client.Connection(APP_SOCKET)
            c.begin(get("/users/me", bearer(token)), keep=True)
            c.end_stdin()
            sent.append(c)
        time.sleep(0.5)
        let_the_worker_go(held)
        start = time.monotonic()
        answers = [c.response() for c in sent]
        took = time.monotonic() - start
        assert [(status, json.loads(body)) for status, _, body in answers] == [
            (503, {"detail": "Service Unavailable"})] * len(tokens)
        assert took < 3 * timeout, took
    finally:
        locker.wait(timeout=30)
        held.close()
        for c in sent:
            c.close()
    assert metric("fcgi_users_user_reads_grouped_total") - grouped == len(tokens)
    assert requests.get(url("/users/me"), headers=bearer(tokens[0])).json()["email"] == users[0]["email"]


def sql_processlist():
    return subprocess.run([os.path.join(ROOT, "scripts", "sql"), "-N", "-B", "-e", "SHOW PROCESSLIST"],
                          capture_output=True, text=True).stdout
