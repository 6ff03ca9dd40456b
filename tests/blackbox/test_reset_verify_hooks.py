"""Forgot/reset password, e-mail verification, and hooks delivered as durable
shell commands. scripts/test configures every event's hook to append a JSON
line to $FCGI_USERS_HOOK_FILE (scripts/hooks/append-json-line); tests that
need other hooks restart fcgi-users with other FCGI_USERS_HOOK_* values."""
# ctest labels: concurrency  # races between threads: also under ThreadSanitizer
import base64
import concurrent.futures
import hashlib
import os
import signal
import stat
import subprocess
import time
import uuid

import requests

from conftest import (APP_PID_FILE, HOOK_FILE, PASSWORD, ROOT, VAR, bearer, hook_lines, hooks_for, login,
                      make_jwt, register, restart_app, secret, sql, unique_email, url, wait_for,
                      wait_hook)

APPEND = f"{ROOT}/scripts/hooks/append-json-line {HOOK_FILE}"


def forgot(email):
    r = requests.post(url("/auth/forgot-password"), json={"email": email})
    assert r.status_code == 202
    assert r.content == b"null"


def reset_token_for(user_id, count=1):
    return wait_hook(user_id, "after_forgot_password", count)[count - 1]["token"]


def reset(token, password):
    return requests.post(url("/auth/reset-password"), json={"token": token, "password": password})


# ------------------------------------------------------------------- reset

def test_full_reset_flow():
    email = unique_email()
    u = register(email)
    forgot(email.upper())
    token = reset_token_for(u["id"])
    r = reset(token, "a-brand-new-password")
    assert r.status_code == 200 and r.content == b"null"
    wait_hook(u["id"], "after_reset_password")
    assert login(email, "a-brand-new-password")
    assert requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD}).status_code == 400
    r = reset(token, "yet-another-password")
    assert r.status_code == 400 and r.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    # A token issued before any other password change is spent by it.
    forgot(email)
    second = reset_token_for(u["id"], 2)
    me = login(email, "a-brand-new-password")
    assert requests.patch(url("/users/me"), headers=bearer(me), json={"password": "changed-on-the-profile"}).status_code == 200
    assert reset(second, "yet-another-password").json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    # Delivered tokens are not kept in the database.
    assert sql(f"SELECT COUNT(*) FROM hook_event WHERE user_id = '{u['id']}' AND token IS NOT NULL") == [["0"]]


def test_reset_with_a_bad_password_keeps_the_token():
    email = unique_email()
    u = register(email)
    forgot(email)
    token = reset_token_for(u["id"])
    r = reset(token, "short")
    assert r.status_code == 400
    assert r.json()["detail"]["code"] == "RESET_PASSWORD_INVALID_PASSWORD" and r.json()["detail"]["reason"]
    assert reset(token, "long-enough-password").status_code == 200


def test_reset_refuses_wrong_purpose_tampered_expired_and_unknown_tokens():
    email = unique_email()
    u = register(email)
    access = login(email)
    forgot(email)
    good = reset_token_for(u["id"])
    key = secret("reset")
    now = int(time.time())
    fgpt = make_jwt  # keep names short below
    claims = {"sub": u["id"], "password_fgpt": "x", "aud": "fastapi-users:reset", "exp": now + 600}
    bad = [
        access,                                                           # an access token
        good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),        # tampered
        make_jwt(dict(claims, exp=now - 5), key),                         # expired, wrong fingerprint
        make_jwt(dict(claims, aud="fastapi-users:verify"), key),          # wrong purpose
        make_jwt(dict(claims, sub=str(uuid.uuid4())), key),               # unknown user
        fgpt(claims, "some-other-secret-of-at-least-32-bytes"),           # another secret
        "not-a-token", "",
    ]
    for token in bad:
        r = reset(token, "long-enough-password")
        assert r.status_code == 400, token[:40]
        assert r.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    # A reset token is no access token either.
    assert requests.get(url("/users/me"), headers=bearer(good)).status_code == 401
    # An inactive user's token is refused.
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{u['id']}'")
    assert reset(good, "long-enough-password").json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}


def test_forgot_and_request_verify_answer_202_whoever_asks_and_fire_nothing_then():
    inactive = unique_email("inactive")
    ui = register(inactive)
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{ui['id']}'")
    verified = unique_email("verified")
    uv = register(verified)
    sql(f"UPDATE user SET is_verified = TRUE WHERE id = '{uv['id']}'")
    unknown = unique_email("unknown")
    for email in (unknown, inactive):
        forgot(email)
    for email in (unknown, inactive, verified):
        r = requests.post(url("/auth/request-verify-token"), json={"email": email})
        assert r.status_code == 202 and r.content == b"null"
    # Something that does fire, afterwards: once it is delivered, the others would have been.
    marker = unique_email("marker")
    um = register(marker)
    forgot(marker)
    reset_token_for(um["id"])
    time.sleep(1.5)
    events = [h for h in hook_lines() if h["email"] in (unknown, inactive, verified)]
    assert [h["event"] for h in events if h["event"] != "after_register"] == []
    for path in ("/auth/forgot-password", "/auth/request-verify-token"):
        assert requests.post(url(path), json={"email": "not-an-address"}).status_code == 422
        assert requests.post(url(path), json={}).status_code == 422
        assert requests.post(url(path), data="{", headers={"Content-Type": "application/json"}).status_code == 422


def test_a_flood_of_forgot_password_requests_mails_five_times_then_nothing():
    # Anyone can ask for anyone's reset mail: past throttle.account_mails (5)
    # within the window, the answer is still 202 and nothing is recorded, so
    # nobody can bomb an inbox or pile up the user's hook backlog. Twelve at
    # once, as a flood sends them: counted before they are looked at.
    email, other = unique_email("flooded"), unique_email("bystander")
    u, uo = register(email), register(other)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        list(pool.map(forgot, [email] * 12))
    r = requests.post(url("/auth/request-verify-token"), json={"email": email})
    assert r.status_code == 202 and r.content == b"null"
    forgot(other)  # another user's mail is not held back
    reset_token_for(uo["id"])
    assert wait_for(lambda: len(hooks_for(u["id"], "after_forgot_password")) == 5)
    wait_hook(u["id"], "after_request_verify")  # each kind is counted apart
    time.sleep(1.5)  # anything more would have been delivered by now
    recorded = sql(f"SELECT event, COUNT(*) FROM hook_event WHERE user_id = '{u['id']}' "
                   "AND event <> 'after_register' GROUP BY event ORDER BY event")
    assert recorded == [["after_forgot_password", "5"], ["after_request_verify", "1"]], recorded
    # The five tokens work: the last one resets the password.
    assert reset(reset_token_for(u["id"], 5), "a-new-password-123").status_code == 200
    # Once the counter goes (the window's end, or an administrator), mails flow again.
    digest = hashlib.sha256(f"mails:after_forgot_password:{u['id']}".encode()).digest()
    key = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert sql(f"SELECT failures FROM login_throttle WHERE k = '{key}'") == [["12"]]
    sql(f"DELETE FROM login_throttle WHERE k = '{key}'")
    forgot(email)
    reset_token_for(u["id"], 6)


# ------------------------------------------------------------------ verify

def test_full_verify_flow():
    email = unique_email()
    u = register(email)
    r = requests.post(url("/auth/request-verify-token"), json={"email": email.upper()})
    assert r.status_code == 202
    token = wait_hook(u["id"], "after_request_verify")[0]["token"]
    r = requests.post(url("/auth/verify"), json={"token": token})
    assert r.status_code == 200
    assert r.json() == dict(u, is_verified=True)
    wait_hook(u["id"], "after_verify")
    r = requests.post(url("/auth/verify"), json={"token": token})
    assert r.status_code == 400 and r.json() == {"detail": "VERIFY_USER_ALREADY_VERIFIED"}


def test_verify_token_is_spent_by_an_email_change():
    email = unique_email()
    u = register(email)
    requests.post(url("/auth/request-verify-token"), json={"email": email})
    token = wait_hook(u["id"], "after_request_verify")[0]["token"]
    me = login(email)
    assert requests.patch(url("/users/me"), headers=bearer(me), json={"email": unique_email("moved")}).status_code == 200
    r = requests.post(url("/auth/verify"), json={"token": token})
    assert r.status_code == 400 and r.json() == {"detail": "VERIFY_USER_BAD_TOKEN"}


def test_verify_refuses_wrong_purpose_and_tampered_tokens():
    email = unique_email()
    u = register(email)
    key = secret("verify")
    claims = {"sub": u["id"], "email": email, "aud": "fastapi-users:verify", "exp": int(time.time()) + 600}
    assert requests.post(url("/auth/verify"), json={"token": make_jwt(claims, key)}).status_code == 200
    email2 = unique_email()
    u2 = register(email2)
    claims2 = dict(claims, sub=u2["id"], email=email2)
    bad = [login(email2), make_jwt(dict(claims2, aud="fastapi-users:reset"), key),
           make_jwt(dict(claims2, exp=int(time.time()) - 1), key), make_jwt(claims2, secret("reset")),
           make_jwt(dict(claims2, sub=u["id"]), key), make_jwt(dict(claims2, email=unique_email()), key),
           make_jwt(claims2, key)[:-2] + "xx", "garbage"]
    for token in bad:
        r = requests.post(url("/auth/verify"), json={"token": token})
        assert r.status_code == 400, token[:40]
        assert r.json() == {"detail": "VERIFY_USER_BAD_TOKEN"}
    assert requests.post(url("/auth/verify"), json={"token": 5}).status_code == 422


# ------------------------------------------------------------------- hooks

def test_account_events_fire_where_fastapi_users_fires_them(superuser):
    _, _, admin = superuser
    email = unique_email()
    u = register(email)
    wait_hook(u["id"], "after_register")
    assert requests.post(url("/auth/jwt/login"), data={"username": email, "password": "wrong"}).status_code == 400
    token = login(email)
    wait_hook(u["id"], "after_login")
    requests.patch(url("/users/me"), headers=bearer(token), json={"password": "another-password-1"})
    wait_hook(u["id"], "after_update")
    assert requests.delete(url(f"/users/{u['id']}"), headers=bearer(admin)).status_code == 204
    wait_hook(u["id"], "after_delete")
    events = [h["event"] for h in hooks_for(u["id"])]
    assert events.count("after_login") == 1  # the failed login fired nothing
    assert events.index("before_delete") < events.index("after_delete")
    assert all(h["email"] == email for h in hooks_for(u["id"]))
    assert all(h["token"] is None for h in hooks_for(u["id"]))


def test_request_data_never_reaches_the_command_text():
    witness = f"/tmp/pw-{uuid.uuid4().hex[:10]}"
    for email in (f"x$(touch {witness})@example.com", f"x`touch{{IFS}}{witness}`@example.com".replace("{IFS}", "${IFS}")):
        r = requests.post(url("/auth/register"), json={"email": email, "password": PASSWORD})
        assert r.status_code in (201, 422), r.text
        if r.status_code == 201:
            wait_hook(r.json()["id"], "after_register")
            assert [h["email"] for h in hooks_for(r.json()["id"])] == [email]
    # The same address through a hook that uses $1, $2 and the environment.
    restart_app(hook_after_register=f'echo "$1 $FCGI_USERS_USER_EMAIL" >> {VAR}/quoted.log')
    r = requests.post(url("/auth/register"), json={"email": f"y`touch${{IFS}}{witness}`@example.com", "password": PASSWORD})
    assert r.status_code == 201
    assert wait_for(lambda: os.path.exists(f"{VAR}/quoted.log") and r.json()["id"] in open(f"{VAR}/quoted.log").read())
    assert not os.path.exists(witness)


def test_failing_hook_is_retried_then_left_as_failed(default_app):
    restart_app(hook_after_register="echo boom >&2; exit 3", hook_max_attempts="3", hook_backoff="1")
    u = register()
    row = wait_for(lambda: sql(f"SELECT attempts, last_exit_status, last_error FROM hook_event "
                               f"WHERE user_id = '{u['id']}' AND failed_at IS NOT NULL"), timeout=20)
    assert row, "the hook was not marked failed"
    attempts, status, error = row[0]
    assert (attempts, status) == ("3", "3")
    assert "boom" in error


def test_hanging_hook_is_killed_at_its_timeout(default_app):
    marker = f"{VAR}/hang-{uuid.uuid4().hex}"
    restart_app(hook_after_register=f"sleep 30 & echo $! > {marker}; wait", hook_timeout="1", hook_max_attempts="1")
    u = register()
    row = wait_for(lambda: sql(f"SELECT last_error FROM hook_event WHERE user_id = '{u['id']}' "
                               f"AND failed_at IS NOT NULL"), timeout=15)
    assert row and "timeout" in row[0][0]
    pid = int(open(marker).read())
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=5), "the hook's process group survived"


def test_hook_output_is_logged_without_the_token_and_no_descriptor_leaks(default_app):
    # The command prints its token, then lists its open descriptors: ls's own
    # 0, 1, 2 and the folder it reads; anything more leaked from fcgi-users.
    restart_app(hook_after_forgot_password='echo "sending to $1 token $2"; exec ls -1 /proc/self/fd')
    email = unique_email()
    u = register(email)
    forgot(email)
    token_row = wait_for(lambda: sql(f"SELECT done_at FROM hook_event WHERE user_id = '{u['id']}' "
                                     f"AND event = 'after_forgot_password' AND done_at IS NOT NULL"))
    assert token_row
    log = open(f"{VAR}/log/fcgi-users.log").read().splitlines()
    mine = [l.split(" stdout: ", 1)[1] for l in log if f" user {u['id']} stdout: " in l]
    assert mine[0] == f"sending to {u['id']} token [token]"
    assert sorted(mine[1:]) == ["0", "1", "2", "3"]
    assert not [l for l in log if u["id"] in l and "eyJ" in l]
    pid = int(open(APP_PID_FILE).read())
    children = subprocess.run(["ps", "--ppid", str(pid), "-o", "stat="], capture_output=True, text=True).stdout.split()
    assert not [s for s in children if s.startswith("Z")], "zombie hook processes"


def test_hook_survives_sigkill_of_the_worker(default_app):
    # The first process's hook hangs; the process is killed with SIGKILL while
    # it runs; the restarted one delivers the event. (forgot-password records
    # the event just after its 202, so the test waits for the attempt.) The
    # killed process's claim lasts hook.timeout + hook.lease_grace = 3 s: the
    # restarted one takes the row over then, not 12 s later.
    restart_app(hook_after_forgot_password="sleep 61", hook_timeout="2", hook_lease_grace="1")
    email = unique_email()
    u = register(email)
    forgot(email)
    assert wait_for(lambda: sql(f"SELECT attempts FROM hook_event WHERE user_id = '{u['id']}' "
                                "AND event = 'after_forgot_password' AND attempts > 0"))
    pid = int(open(APP_PID_FILE).read())

    def hook_groups():  # the hook commands this process started: each leads its own process group
        out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True, text=True).stdout
        return [int(line.split()[0]) for line in out.splitlines() if "sleep 61" in line]

    groups = wait_for(hook_groups)
    assert groups, "the hook never started"
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z")
    for group in groups:  # only what this test started, by its process group
        os.killpg(group, signal.SIGKILL)
    os.remove(APP_PID_FILE)
    restart_app()
    delivered = wait_hook(u["id"], "after_forgot_password", timeout=20)
    assert delivered[0]["token"]
    assert reset(delivered[0]["token"], "after-the-crash-password").status_code == 200


def test_the_dev_stacks_hook_file_is_readable_by_its_owner_only(tmp_path):
    u = register(unique_email())
    wait_hook(u["id"], "after_register")
    assert stat.S_IMODE(os.stat(HOOK_FILE).st_mode) == 0o600
    # A file made earlier with a wider mode is narrowed on the next event.
    older = tmp_path / "older.jsonl"
    older.write_text("")
    os.chmod(older, 0o644)
    env = dict(os.environ, FCGI_USERS_EVENT="after_register", FCGI_USERS_USER_ID="u", FCGI_USERS_USER_EMAIL="e@x.y")
    subprocess.run([os.path.join(ROOT, "scripts", "hooks", "append-json-line"), str(older)], env=env, check=True)
    assert stat.S_IMODE(os.stat(older).st_mode) == 0o600


# --------------------------------------------- hook tokens: ps, rest, retention

def _seen_by_hook(path):
    """A hook command writing "$2|$FCGI_USERS_TOKEN|<stdin>" to `path`, then failing (so its row stays pending)."""
    return f'printf "%s|%s|%s" "$2" "$FCGI_USERS_TOKEN" "$(cat)" > {path}; exit 1'


def test_token_in_argv_false_leaves_2_empty_and_the_token_sealed_at_rest(default_app):
    seen = os.path.join(VAR, f"seen-{uuid.uuid4().hex}")
    restart_app(hook_after_forgot_password=_seen_by_hook(seen), hook_token_in_argv="false",
                hook_backoff="3600", hook_max_attempts="5")
    email = unique_email()
    u = register(email)
    forgot(email)
    assert wait_for(lambda: os.path.exists(seen) and open(seen).read().count("|") == 2)
    argv2, env_token, stdin_token = open(seen).read().split("|")
    assert argv2 == ""
    assert env_token and env_token == stdin_token
    # The pending row (it failed, a retry waits) holds the token sealed, never in clear.
    rows = sql(f"SELECT token FROM hook_event WHERE user_id = '{u['id']}' AND event = 'after_forgot_password' "
               "AND done_at IS NULL")
    assert len(rows) == 1
    assert rows[0][0].startswith("v1.") and env_token not in rows[0][0]


def test_token_in_argv_by_default_and_on_stdin(default_app):
    seen = os.path.join(VAR, f"seen-{uuid.uuid4().hex}")
    restart_app(hook_after_forgot_password=_seen_by_hook(seen), hook_backoff="3600")
    email = unique_email()
    register(email)
    forgot(email)
    assert wait_for(lambda: os.path.exists(seen) and open(seen).read().count("|") == 2)
    argv2, env_token, stdin_token = open(seen).read().split("|")
    assert argv2 and argv2 == env_token == stdin_token


def test_delivered_events_are_erased_then_purged_after_the_retention(default_app):
    restart_app(hook_retention="1")
    email = unique_email()
    u = register(email)
    forgot(email)
    wait_hook(u["id"], "after_forgot_password")
    assert wait_for(lambda: sql(f"SELECT COUNT(*) FROM hook_event WHERE user_id = '{u['id']}'") == [["0"]],
                    timeout=30), "delivered rows were not purged"


def test_a_process_with_hook_concurrency_0_records_events_and_delivers_none(default_app):
    """hook.concurrency = 0: another host on the same database delivers (the
    Apache-facing instance of the test stack runs so, and must not run its own
    commands on the rows of the instance under test)."""
    restart_app(hook_concurrency="0")
    u = register()
    assert sql(f"SELECT COUNT(*) FROM hook_event WHERE user_id = '{u['id']}' AND event = 'after_register'") == [["1"]]
    assert not wait_for(lambda: hooks_for(u["id"], "after_register"), timeout=3)
    assert sql(f"SELECT COUNT(*) FROM hook_event WHERE user_id = '{u['id']}' AND done_at IS NULL") == [["1"]]
    restart_app()  # a process that delivers takes the pending row
    wait_hook(u["id"], "after_register")
