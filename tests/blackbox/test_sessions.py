"""Sessions that end (API.md, "Sessions that end"): logout revokes JWTs, a
password change or reset ends the other sessions, logout-all, refresh tokens
with rotation and reuse detection, and login throttling shared through the
database. Through the real nginx and MariaDB; the throttle tests that must not
count against 127.0.0.1 talk FastCGI directly with their own REMOTE_ADDR."""
# ctest labels: concurrency  # races between threads: also under ThreadSanitizer
import concurrent.futures
import http.client
import os
import statistics
import time
import urllib.parse
import uuid

import pytest
import requests

import fcgi_client
from conftest import (APP_SOCKET, BASE, PASSWORD, ROOT, admin_sql, bearer, database_at_version,
                      forget_local_failures, jwt_claims, login, make_jwt, migrate, register, secret, sql, stack,
                      unique_email, url, wait_for, wait_hook)

HTTP_PORT = int(BASE.rsplit(":", 1)[1])
TCP_APP = ("127.0.0.1", HTTP_PORT + 3)  # the second fcgi-users of the stack (Apache's), same database
NEW_PASSWORD = "lancelot-forever"


def me(token):
    return requests.get(url("/users/me"), headers=bearer(token)).status_code


def check(token):
    return requests.get(url("/auth/check"), headers=bearer(token)).status_code


def jwt_login(email, password=PASSWORD):
    r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def fastapi_users_token(user_id, exp):
    """What FastAPI Users' JWTStrategy writes with the same secret: no jti, iat, sid or sgen."""
    return make_jwt({"sub": user_id, "aud": ["fastapi-users:auth"], "exp": exp}, secret("access_token"))


def fcgi_login(email, password, address, app=APP_SOCKET, headers=None):
    """A login straight to an fcgi-users FastCGI socket, from client address `address`."""
    body = f"username={requests.utils.quote(email)}&password={requests.utils.quote(password)}".encode()
    params = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/jwt/login", "REMOTE_ADDR": address,
              "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body))}
    params.update(headers or {})
    return fcgi_client.request(app, params, body)


def random_address():
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def restarted(env):
    stack("app-restart", env=env)
    assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)


# ------------------------------------------------------------------ logout

def test_bearer_logout_revokes_the_token_everywhere(user):
    u, _, token = user
    claims = jwt_claims(token)
    assert {"jti", "iat", "sid", "sgen"} <= set(claims) and len(claims["jti"]) >= 22
    other = login(user[1])
    assert me(token) == 200 and check(token) == 200
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(token)).status_code == 204
    assert me(token) == 401 and check(token) == 401
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(token)).status_code == 401
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/protected/", "HTTP_AUTHORIZATION": "Bearer " + token}
    assert fcgi_client.request(APP_SOCKET, params, role=fcgi_client.AUTHORIZER)[0] == 401
    assert me(other) == 200  # another login of the same user is another session


def test_cookie_logout_revokes_the_cookie():
    email = unique_email()
    register(email)
    cookie = login(email, backend="cookie")
    jar = {"fastapiusersauth": cookie}
    assert requests.get(url("/users/me"), cookies=jar).status_code == 200
    assert requests.post(url("/auth/cookie/logout"), cookies=jar).status_code == 204
    assert requests.get(url("/users/me"), cookies=jar).status_code == 401
    assert requests.get(url("/auth/check"), cookies=jar).status_code == 401


# ---------------------------------------------------- password change, reset

def test_password_change_ends_the_other_sessions_not_its_own():
    email = unique_email()
    u = register(email)
    changer, other = login(email), login(email)
    cookie = login(email, backend="cookie")
    db_changer, db_other = login(email, backend="database"), login(email, backend="database")
    # All within milliseconds: the order must still be exact.
    r = requests.patch(url("/users/me"), headers=bearer(changer), json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert r.json() == {"id": u["id"], "email": email, "is_active": True, "is_superuser": False,
                        "is_verified": False}
    assert me(changer) == 200 and check(changer) == 200
    assert me(other) == 401 and check(other) == 401
    assert requests.get(url("/users/me"), cookies={"fastapiusersauth": cookie}).status_code == 401
    assert me(db_changer) == 401 and me(db_other) == 401
    assert sql(f"SELECT COUNT(*) FROM accesstoken WHERE user_id = '{u['id']}'") == [["0"]]
    fresh = login(email, NEW_PASSWORD)  # logged in at once after the change: counts
    assert me(fresh) == 200


def test_password_change_through_a_database_token_keeps_that_token():
    email = unique_email()
    u = register(email)
    db_changer, db_other, jwt = (login(email, backend="database"), login(email, backend="database"),
                                 login(email))
    r = requests.patch(url("/users/me"), headers=bearer(db_changer), json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert me(db_changer) == 200
    assert me(db_other) == 401 and me(jwt) == 401
    assert sql(f"SELECT COUNT(*) FROM accesstoken WHERE user_id = '{u['id']}'") == [["1"]]


def test_a_change_without_a_password_ends_nothing(user):
    _, email, token = user
    other = login(email)
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"email": unique_email()})
    assert r.status_code == 200
    assert me(token) == 200 and me(other) == 200


def test_reset_ends_every_session_and_a_login_right_after_counts(user):
    u, email, token = user
    refresh = jwt_login(email)["refresh_token"]
    assert requests.post(url("/auth/forgot-password"), json={"email": email}).status_code == 202
    reset_token = wait_hook(u["id"], "after_forgot_password")[-1]["token"]
    r = requests.post(url("/auth/reset-password"), json={"token": reset_token, "password": NEW_PASSWORD})
    assert r.status_code == 200
    fresh = login(email, NEW_PASSWORD)
    assert me(token) == 401 and check(token) == 401
    assert me(fresh) == 200
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": refresh}).status_code == 401


def test_superuser_password_change_and_deactivation_end_sessions(superuser):
    _, _, admin = superuser
    email = unique_email()
    u = register(email)
    first = login(email)
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin), json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert me(first) == 401 and me(admin) == 200
    second = login(email, NEW_PASSWORD)
    refresh = jwt_login(email, NEW_PASSWORD)["refresh_token"]
    assert requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                          json={"is_active": False}).status_code == 200
    assert me(second) == 401
    assert requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                          json={"is_active": True}).status_code == 200
    assert me(second) == 401  # ended, not merely refused while inactive
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": refresh}).status_code == 401


def test_a_superuser_deactivating_itself_keeps_no_session(superuser):
    # A password change keeps the changer's own session; a deactivation keeps
    # none, so the account comes back with no session alive when it is
    # activated again (here by SQL, as an administrator would).
    u, email, token = superuser
    db = login(email, backend="database")
    refresh = jwt_login(email)["refresh_token"]
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(token), json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    sql(f"UPDATE user SET is_active = TRUE WHERE id = '{u['id']}'")
    assert me(token) == 401 and check(token) == 401 and me(db) == 401
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": refresh}).status_code == 401
    assert me(login(email)) == 200


def admin_recipe(title, email):
    """The statements of sql/admin.sql under the comment beginning `-- title`,
    for `email` instead of the example address."""
    text = open(os.path.join(ROOT, "sql", "admin.sql")).read()
    block = text.split(f"-- {title}", 1)[1].split("\n\n", 1)[0]
    statements = "\n".join(line for line in block.splitlines()[1:] if not line.startswith("--"))
    assert statements.count("someone@example.com") >= 1, block
    return statements.replace("someone@example.com", email)


@pytest.mark.parametrize("title", ["Deactivate a user", "Log a user out everywhere"])
def test_the_admin_sql_endings_end_every_session(user, title):
    u, email, token = user
    db = login(email, backend="database")
    refresh = jwt_login(email)["refresh_token"]
    minted = fastapi_users_token(u["id"], int(time.time()) + 3600 - 60)  # a minute ago, no sgen
    assert me(minted) == 200
    # In an administrator's client whose time zone is not UTC, as most are.
    sql("SET time_zone = '+05:00'; " + admin_recipe(title, email))
    sql(f"UPDATE user SET is_active = TRUE WHERE id = '{u['id']}'")  # activated again, if it was not
    assert me(token) == 401 and check(token) == 401 and me(db) == 401
    assert me(minted) == 401  # the ending's time is right whatever the client's zone
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": refresh}).status_code == 401
    assert me(login(email)) == 200


@pytest.fixture
def failures_forgotten():
    """For tests whose failed logins through nginx count against 127.0.0.1:
    the address's counters go afterwards, so that later tests' logins from it
    are not throttled."""
    yield
    forget_local_failures()


@pytest.mark.parametrize("backend", ["database", "jwt", "cookie"])
def test_a_login_racing_a_password_change_never_outlives_it(backend, failures_forgotten):
    # A login reads the user, hashes the password (milliseconds), then writes
    # its session; a password change committing in between ends every
    # session but the changer's, the new one included. So once both have
    # answered, whichever first, a login that got in with the old password
    # holds a token that is refused. Database tokens used to be written
    # after the change's delete, unconditionally, and outlived it.
    email = unique_email()
    register(email)

    def timed(call, *args, **kwargs):
        r = call(*args, **kwargs)
        return r, time.monotonic()

    def sign_in(password):
        return timed(requests.post, url(f"/auth/{backend}/login"), data={"username": email, "password": password})

    def me_with(r):
        if backend == "cookie":
            return requests.get(url("/users/me"), cookies={"fastapiusersauth": r.cookies["fastapiusersauth"]})
        return requests.get(url("/users/me"), headers=bearer(r.json()["access_token"]))

    started = time.monotonic()
    sign_in(PASSWORD)
    login_ms = (time.monotonic() - started) * 1000
    password, survivors, raced = PASSWORD, [], 0
    for round_ in range(16):
        changer = login(email, password)
        new = f"{PASSWORD}-{round_}"
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            patch = pool.submit(timed, requests.patch, url("/users/me"), headers=bearer(changer), json={"password": new})
            # The login starts while the change hashes its new password.
            time.sleep(login_ms * (round_ % 8) / 8 / 1000)
            signing = pool.submit(sign_in, password)
            (patched, patch_done), (signed, sign_done) = patch.result(), signing.result()
        assert patched.status_code == 200, patched.text
        if signed.status_code in (200, 204):
            raced += sign_done > patch_done
            if me_with(signed).status_code != 401:
                survivors.append(round_)
        else:
            assert signed.status_code == 400, signed.text  # it read the new password's hash
        password = new
    assert survivors == [], f"logins with the old password outlived its change in rounds {survivors}"
    # A login with the old password answered after the change had: the race ran.
    assert raced > 0


def test_logout_all_ends_every_session_of_the_caller(user):
    u, email, token = user
    other = login(email)
    db = login(email, backend="database")
    refresh = jwt_login(email)["refresh_token"]
    assert requests.post(url("/auth/logout-all")).status_code == 401
    r = requests.post(url("/auth/logout-all"), headers=bearer(token))
    assert r.status_code == 204 and r.content == b""
    assert me(token) == 401 and me(other) == 401 and me(db) == 401
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": refresh}).status_code == 401
    assert me(login(email)) == 200


def test_a_password_change_never_revives_a_session_ended_while_it_ran():
    # The PATCH authenticates, hashes the new password (tens of ms), then
    # writes; a logout-all landing in between ended the changing session too,
    # and the write must not keep it alive. Two orders are legitimate: the
    # logout-all ends every session (204) and the changer is dead afterwards,
    # whatever the PATCH answered; or the PATCH committed first, ending the
    # other session, so the logout-all is refused (401) and the changer lives.
    email = unique_email()
    register(email)
    survivors, ended_rounds = [], 0
    for round_ in range(8):
        changer, other = login(email), login(email)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            patch = pool.submit(requests.patch, url("/users/me"), headers=bearer(changer),
                                json={"password": f"{PASSWORD}-{round_}"})
            time.sleep(0.005 * (round_ % 4))
            ended = pool.submit(requests.post, url("/auth/logout-all"), headers=bearer(other))
            ended, patched = ended.result().status_code, patch.result().status_code
        changed = patched == 200
        if ended == 204:
            ended_rounds += 1
            assert patched in (200, 401)
            if me(changer) != 401:
                survivors.append(round_)
        else:
            assert (ended, patched) == (401, 200)
            assert me(changer) == 200
        # Back to the password the next round logs in with.
        token = login(email, f"{PASSWORD}-{round_}" if changed else PASSWORD)
        assert requests.patch(url("/users/me"), headers=bearer(token), json={"password": PASSWORD}).status_code == 200
    assert survivors == []
    # The logout-all is sent while the PATCH hashes: it must have won at
    # least once, or the race this test is about was never run.
    assert ended_rounds > 0


def test_fastapi_users_tokens_count_until_the_sessions_end(user):
    u, email, token = user
    now = int(time.time())
    minted = fastapi_users_token(u["id"], now + 3600)
    # Minted "before the account existed" (as tests do): no ending yet, so valid.
    old = fastapi_users_token(u["id"], now + 60)
    assert me(minted) == 200 and me(old) == 200
    assert requests.patch(url("/users/me"), headers=bearer(token), json={"password": NEW_PASSWORD}).status_code == 200
    assert me(minted) == 401 and me(old) == 401
    # One issued after the ending (exp - lifetime later than it) counts.
    later = fastapi_users_token(u["id"], int(time.time()) + 3600 + 2)
    assert me(later) == 200
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(later)).status_code == 204
    assert me(later) == 401


# ------------------------------------------------------------ refresh tokens

def test_login_answers_exactly_three_keys_and_refresh_rotates(user):
    _, email, _ = user
    first = jwt_login(email)
    assert set(first) == {"access_token", "token_type", "refresh_token"}
    assert len(first["refresh_token"]) == 43
    r = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    second = r.json()
    assert set(second) == {"access_token", "token_type", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert jwt_claims(second["access_token"])["sid"] == jwt_claims(first["access_token"])["sid"]
    assert me(second["access_token"]) == 200
    r = requests.post(url("/auth/jwt/refresh"), json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 200
    assert me(r.json()["access_token"]) == 200
    for bad in ({"refresh_token": "x" * 43}, {"refresh_token": ""}, {}):
        assert requests.post(url("/auth/jwt/refresh"), data=bad).status_code in (401, 422)
    assert requests.post(url("/auth/jwt/refresh"), json={}).status_code == 422
    # Only the jwt backend has refresh tokens by default.
    assert requests.post(url("/auth/cookie/refresh"), data={"refresh_token": "x"}).status_code in (404, 405)


def test_reuse_of_a_spent_refresh_token_revokes_the_family(user):
    u, email, _ = user
    first = jwt_login(email)
    unrelated = jwt_login(email)
    second = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": first["refresh_token"]}).json()
    third = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": second["refresh_token"]}).json()
    assert me(third["access_token"]) == 200
    before = metric("fcgi_users_refresh_reuse_detected_total")
    r = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    assert me(third["access_token"]) == 401 and me(first["access_token"]) == 401
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": third["refresh_token"]}).status_code == 401
    assert me(unrelated["access_token"]) == 200  # another login, another family
    wait_hook(u["id"], "after_refresh_reuse")
    assert metric("fcgi_users_refresh_reuse_detected_total") == before + 1


def test_concurrent_uses_of_one_refresh_token_give_one_pair(user):
    _, email, _ = user
    token = jwt_login(email)["refresh_token"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: requests.post(url("/auth/jwt/refresh"), data={"refresh_token": token}),
                                range(4)))
    assert sorted(a.status_code for a in answers).count(200) <= 1
    assert all(a.status_code in (200, 401) for a in answers)


def test_the_changing_session_keeps_its_refresh_token(user):
    _, email, _ = user
    mine, theirs = jwt_login(email), jwt_login(email)
    r = requests.patch(url("/users/me"), headers=bearer(mine["access_token"]), json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": theirs["refresh_token"]}).status_code == 401
    r = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": mine["refresh_token"]})
    assert r.status_code == 200
    assert me(r.json()["access_token"]) == 200


def test_logout_ends_the_refresh_tokens_of_its_session(user):
    _, email, _ = user
    pair = jwt_login(email)
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(pair["access_token"])).status_code == 204
    assert requests.post(url("/auth/jwt/refresh"), data={"refresh_token": pair["refresh_token"]}).status_code == 401


# -------------------------------------------------------------- throttling

def fail_until_throttled(email, address, app=APP_SOCKET, limit=10):
    for i in range(limit):
        status, _, body = fcgi_login(email, "wrong-password", address, app)
        assert status == 400, (i, body)
    return fcgi_login(email, "wrong-password", address, app)


def test_eleven_failed_logins_give_429_before_any_hash():
    email = unique_email()
    register(email)
    address = random_address()
    failed = []
    for i in range(10):
        start = time.monotonic()
        status, _, body = fcgi_login(email, "wrong-password", address)
        failed.append(time.monotonic() - start)
        assert status == 400 and b"LOGIN_BAD_CREDENTIALS" in body
    throttled = []
    for password in ("wrong-password", PASSWORD, "wrong-again", PASSWORD, "wrong"):
        start = time.monotonic()
        status, headers, body = fcgi_login(email, password, address)
        throttled.append(time.monotonic() - start)
        assert status == 429, body
        assert body == b'{"detail":"LOGIN_TOO_MANY_ATTEMPTS"}' or b"LOGIN_TOO_MANY_ATTEMPTS" in body
        assert 1 <= int(headers["retry-after"]) <= 900
    # No argon2 time is spent on a refused attempt: it answers in a fraction of a hash.
    assert statistics.median(throttled) < statistics.median(failed) / 2, (throttled, failed)
    # From another address too: the account is what is throttled.
    assert fcgi_login(email, PASSWORD, random_address())[0] == 429


def test_throttling_through_nginx_and_for_unknown_addresses_alike():
    known = unique_email()
    register(known)
    answers = []
    for email in (known, unique_email("nobody")):
        for _ in range(10):
            r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": "wrong-password"})
            assert r.status_code == 400
        r = requests.post(url("/auth/jwt/login"), data={"username": email.upper(), "password": "wrong-password"})
        answers.append((r.status_code, r.json(), r.headers["content-type"], "retry-after" in r.headers))
    assert answers[0] == answers[1] == (429, {"detail": "LOGIN_TOO_MANY_ATTEMPTS"}, "application/json", True)


def test_throttling_is_shared_by_two_processes_on_one_database():
    email = unique_email()
    register(email)
    status, _, _ = fail_until_throttled(email, random_address(), app=APP_SOCKET)
    assert status == 429
    status, headers, body = fcgi_login(email, PASSWORD, random_address(), app=TCP_APP)
    assert status == 429 and b"LOGIN_TOO_MANY_ATTEMPTS" in body and "retry-after" in headers


def test_a_successful_login_clears_the_account_counter():
    email = unique_email()
    register(email)
    address = random_address()
    for _ in range(9):
        assert fcgi_login(email, "wrong-password", address)[0] == 400
    assert fcgi_login(email, PASSWORD, address)[0] == 200
    for _ in range(9):
        assert fcgi_login(email, "wrong-password", address)[0] == 400
    assert fcgi_login(email, PASSWORD, address)[0] == 200


def test_every_spelling_that_reaches_an_account_counts_against_it():
    """The account's counter is keyed by what the lookup finds: upper case, a
    Kelvin sign for the k, trailing spaces all reach this account, so they
    count against it and are refused with it; a success through any of them
    clears it. An address without an account is counted alike."""
    email = unique_email("kim")
    register(email)
    for account, ok in ((email, 200), (unique_email("kim-nobody"), 400)):
        spellings = [account, account.upper(), account + " ", account + "   ", "\u212a" + account[1:]]
        for i in range(9):
            assert fcgi_login(spellings[i % len(spellings)], "wrong-password", random_address())[0] == 400, i
        assert fcgi_login(spellings[-1], PASSWORD, random_address())[0] == ok  # the 10th attempt
        if ok == 200:  # cleared: nine more failures, then the right password again
            for i in range(9):
                assert fcgi_login(spellings[i % len(spellings)], "wrong-password", random_address())[0] == 400
            assert fcgi_login(account, PASSWORD, random_address())[0] == 200
        for i in range(10 if ok == 200 else 1):
            fcgi_login(spellings[i % len(spellings)], "wrong-password", random_address())
        for spelling in spellings:
            assert fcgi_login(spelling, PASSWORD, random_address())[0] == 429, repr(spelling)


def login_with_two_forwarded_lines(email, password, first, second):
    """A password login sent through nginx with X-Forwarded-For on two header lines."""
    parsed = urllib.parse.urlsplit(url("/auth/jwt/login"))
    body = urllib.parse.urlencode({"username": email, "password": password})
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest("POST", parsed.path)
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("X-Forwarded-For", first)
        conn.putheader("X-Forwarded-For", second)
        conn.endheaders(body.encode())
        return conn.getresponse().status
    finally:
        conn.close()


def test_window_address_limit_trusted_proxies_and_token_guessing():
    restarted({"FCGI_USERS_THROTTLE_WINDOW": "4", "FCGI_USERS_THROTTLE_ADDRESS_FAILURES": "5",
               "FCGI_USERS_THROTTLE_TOKEN_FAILURES": "3", "FCGI_USERS_THROTTLE_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        # The owner logs in again once the window is over.
        email = unique_email()
        register(email)
        address = random_address()
        assert fail_until_throttled(email, address, limit=5)[0] == 429
        assert fcgi_login(email, PASSWORD, address)[0] == 429
        time.sleep(4.2)
        assert fcgi_login(email, PASSWORD, address)[0] == 200
        # Per address, whatever the accounts: 5 failures from one address.
        address = random_address()
        for _ in range(5):
            assert fcgi_login(unique_email("spray"), "wrong-password", address)[0] == 400
        assert fcgi_login(email, PASSWORD, address)[0] == 429
        assert fcgi_login(email, PASSWORD, random_address())[0] == 200
        # nginx (127.0.0.1, trusted here) passes X-Forwarded-For on: it names the client.
        xff = random_address()
        for _ in range(5):
            r = requests.post(url("/auth/jwt/login"), data={"username": unique_email(), "password": "x" * 9},
                              headers={"X-Forwarded-For": xff})
            assert r.status_code == 400
        r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD},
                          headers={"X-Forwarded-For": xff})
        assert r.status_code == 429
        r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD},
                          headers={"X-Forwarded-For": random_address()})
        assert r.status_code == 200
        # A proxy that appends a line of its own (HAProxy's option forwardfor)
        # after the client's: nginx 1.22 passes the two lines apart, and the
        # client's forged first line must not be taken for the address.
        xff = random_address()
        for _ in range(5):
            assert login_with_two_forwarded_lines(unique_email(), "x" * 9, random_address(), xff) == 400
        assert login_with_two_forwarded_lines(email, PASSWORD, random_address(), xff) == 429
        # Reset and verify token guessing, per address.
        xff = random_address()
        for _ in range(3):
            r = requests.post(url("/auth/reset-password"), json={"token": "guess", "password": NEW_PASSWORD},
                              headers={"X-Forwarded-For": xff})
            assert r.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
        r = requests.post(url("/auth/verify"), json={"token": "guess"}, headers={"X-Forwarded-For": xff})
        assert r.status_code == 429 and r.json() == {"detail": "VERIFY_USER_TOO_MANY_ATTEMPTS"}
        assert int(r.headers["retry-after"]) >= 1
    finally:
        restarted({})


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted():
    email = unique_email()
    register(email)
    address = random_address()
    for i in range(10):
        # A different X-Forwarded-For each time: the account counter still counts,
        # and REMOTE_ADDR, not the header, is the address.
        fcgi_login(email, "wrong-password", address, headers={"HTTP_X_FORWARDED_FOR": random_address()})
    assert fcgi_login(email, PASSWORD, random_address())[0] == 429


# ------------------------------------------------- contract, metrics, purge

def metric(name):
    for line in requests.get(url("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_count_revocations_and_throttled_logins(user):
    _, email, token = user
    revoked, throttled = metric("fcgi_users_tokens_revoked_total"), metric("fcgi_users_logins_throttled_total")
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(token)).status_code == 204
    assert metric("fcgi_users_tokens_revoked_total") == revoked + 1
    assert fail_until_throttled(email, random_address())[0] == 429
    assert metric("fcgi_users_logins_throttled_total") == throttled + 1


def test_openapi_lists_refresh_and_logout_all():
    paths = requests.get(url("/openapi.json")).json()["paths"]
    assert "post" in paths["/auth/jwt/refresh"] and "post" in paths["/auth/logout-all"]
    assert "/auth/cookie/refresh" not in paths
    login_answers = paths["/auth/jwt/login"]["post"]["responses"]
    assert "429" in login_answers


def logged_out_user():
    """A user who logged one token out: (user id, e-mail)."""
    email = unique_email()
    uid = register(email)["id"]
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(login(email))).status_code == 204
    return uid, email


def test_expired_revocations_and_counters_are_purged():
    (gone, _), (kept, _) = logged_out_user(), logged_out_user()
    assert sql(f"SELECT revoked_ids IS NOT NULL FROM user WHERE id IN ('{gone}', '{kept}')") == [["1"], ["1"]]
    # gone's ids all expired longer ago than the grace for slow clocks (300 s).
    sql(f"UPDATE user SET revoked_ids_until = UNIX_TIMESTAMP() - 301 WHERE id = '{gone}'")
    sql(f"INSERT INTO login_throttle (k, threshold, failures, window_start) VALUES "
        f"('{gone[:22]}', 10, 3, UTC_TIMESTAMP() - INTERVAL 2 HOUR)")
    assert wait_for(lambda: sql(f"SELECT revoked_ids FROM user WHERE id = '{gone}'") == [["NULL"]], timeout=10)
    assert wait_for(lambda: sql(f"SELECT COUNT(*) FROM login_throttle WHERE k = '{gone[:22]}'") == [["0"]],
                    timeout=10)
    assert sql(f"SELECT revoked_ids IS NOT NULL FROM user WHERE id = '{kept}'") == [["1"]]


def test_revoked_ids_ride_in_the_user_row():
    # The hot path reads the user row alone (API.md: no second round trip):
    # a logout writes the token's id and its session's id into that row.
    email = unique_email()
    uid = register(email)["id"]
    token = login(email)
    claims = jwt_claims(token)
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(token)).status_code == 204
    [[text, until]] = sql(f"SELECT revoked_ids, revoked_ids_until FROM user WHERE id = '{uid}'")
    entries = dict(e.split(":") for e in text.split(" "))
    assert int(entries[claims["jti"]]) == claims["exp"] and claims["sid"] in entries
    assert int(until) == max(int(v) for v in entries.values())
    assert sql("SHOW TABLES LIKE 'revoked_token'") == []


def test_more_logouts_than_the_row_holds_end_every_session():
    # 64 ids fit in the row; each logout of a JWT with a session writes two.
    email = unique_email()
    register(email)
    other = login(email)
    for _ in range(32):
        assert requests.post(url("/auth/jwt/logout"), headers=bearer(login(email))).status_code == 204
    assert me(other) == 200  # 64 ids: they fit, nothing else ended
    last = login(email)
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(last)).status_code == 204
    # No room for two more: every session ended, the logged-out one with them.
    assert me(last) == 401 and me(other) == 401 and check(other) == 401
    assert me(login(email)) == 200


def test_migration_7_ends_the_sessions_that_had_revoked_ids_in_the_old_table(tmp_path):
    # A database at version 6, where revoked ids lived in table revoked_token
    # (naming no user) and a marker said which users had one still live.
    with database_at_version(tmp_path, 6) as db:
        rows = admin_sql("INSERT INTO user (id, email, hashed_password, tokens_revoked_until) VALUES "
                         "('11111111-1111-4111-8111-111111111111', 'live@camelot.bt', 'x', UNIX_TIMESTAMP() + 600), "
                         "('22222222-2222-4222-8222-222222222222', 'past@camelot.bt', 'x', UNIX_TIMESTAMP() - 600), "
                         "('33333333-3333-4333-8333-333333333333', 'never@camelot.bt', 'x', NULL); "
                         "INSERT INTO revoked_token (id, expires_at) VALUES ('J', UTC_TIMESTAMP() + INTERVAL 600 SECOND)",
                         db)
        assert rows.returncode == 0, rows.stderr
        assert "applied 007_revoked_ids_in_user_row.sql" in migrate(db, os.path.join(ROOT, "sql"))
        state = admin_sql("SELECT email, session_generation, sessions_ended_ms IS NOT NULL, revoked_ids IS NULL "
                          "FROM user ORDER BY email", db)
        assert state.stdout.splitlines() == ["live@camelot.bt\t1\t1\t1", "never@camelot.bt\t0\t0\t1",
                                             "past@camelot.bt\t0\t0\t1"]
        assert admin_sql("SHOW TABLES LIKE 'revoked_token'", db).stdout == ""
