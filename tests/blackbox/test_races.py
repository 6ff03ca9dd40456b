"""Concurrent changes to one user must not undo each other (issue 11): each race
runs many times, several users at once, through nginx against the real MariaDB.
A change that wrote back a whole row read earlier loses some of these rounds."""
# ctest labels: concurrency  # races between threads: also under ThreadSanitizer
import concurrent.futures
import time

import requests

from conftest import PASSWORD, bearer, login, register, sql, unique_email, url, wait_hook

ROUNDS = 4    # batches, one after the other
USERS = 5     # users racing at once in each batch
# Where the second request lands: from "together" to "while the first hashes".
DELAYS = [0.0, 0.01, 0.03, 0.06, 0.1]


def run_rounds(one_round):
    """Runs one_round(i) ROUNDS * USERS times, USERS at a time; returns the failures."""
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * USERS) as pool:
        for batch in range(ROUNDS):
            futures = [pool.submit(one_round, pool, batch * USERS + i) for i in range(USERS)]
            for f in futures:
                problem = f.result()
                if problem:
                    failures.append(problem)
    return failures


def both(pool, delay, first, second):
    """Starts first(), then second() `delay` seconds later; returns both results."""
    a = pool.submit(first)
    time.sleep(delay)
    b = pool.submit(second)
    return a.result(), b.result()


def token_of(user_id, event, request_path, email):
    r = requests.post(url(request_path), json={"email": email})
    assert r.status_code == 202, r.text
    return wait_hook(user_id, event)[0]["token"]


def user_row(user_id):
    rows = sql(f"SELECT email, is_active, is_verified, is_superuser FROM user WHERE id = '{user_id}'")
    email, active, verified, superuser_flag = rows[0]
    return {"email": email, "is_active": active == "1", "is_verified": verified == "1",
            "is_superuser": superuser_flag == "1"}


def can_login(email, password):
    r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": password})
    return r.status_code == 200


def test_reset_racing_a_deactivation_never_reactivates(superuser):
    _, _, admin = superuser

    def one_round(pool, i):
        email = unique_email("race-reset")
        u = register(email)
        token = token_of(u["id"], "after_forgot_password", "/auth/forgot-password", email)
        reset, patch = both(
            pool, DELAYS[i % len(DELAYS)],
            lambda: requests.post(url("/auth/reset-password"),
                                  json={"token": token, "password": "a-brand-new-password"}),
            lambda: requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                                   json={"is_active": False}))
        if patch.status_code != 200 or reset.status_code not in (200, 400):
            return f"round {i}: reset {reset.status_code}, patch {patch.status_code}"
        if user_row(u["id"])["is_active"]:
            return f"round {i}: reset {reset.status_code} left the deactivated user active"
        return None

    assert run_rounds(one_round) == []


def test_verify_racing_a_password_change_keeps_both():
    def one_round(pool, i):
        email = unique_email("race-verify")
        u = register(email)
        access = login(email)
        token = token_of(u["id"], "after_request_verify", "/auth/request-verify-token", email)
        new_password = f"changed-password-{i}"
        patch, verify = both(
            pool, DELAYS[i % len(DELAYS)],
            lambda: requests.patch(url("/users/me"), headers=bearer(access), json={"password": new_password}),
            lambda: requests.post(url("/auth/verify"), json={"token": token}))
        if patch.status_code != 200 or verify.status_code != 200:
            return f"round {i}: patch {patch.status_code}, verify {verify.status_code} {verify.text}"
        row = user_row(u["id"])
        if not row["is_verified"]:
            return f"round {i}: the password change undid the verification"
        if not can_login(email, new_password):
            return f"round {i}: the verification undid the password change"
        return None

    assert run_rounds(one_round) == []


def test_two_patches_of_different_fields_both_stay(superuser):
    _, _, admin = superuser

    def one_round(pool, i):
        email = unique_email("race-patch")
        u = register(email)
        access = login(email)
        new_email = unique_email("race-patched")
        new_password = f"patched-password-{i}"
        mine, theirs = both(
            pool, DELAYS[i % len(DELAYS)],
            lambda: requests.patch(url("/users/me"), headers=bearer(access), json={"password": new_password}),
            lambda: requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                                   json={"email": new_email, "is_superuser": True}))
        if mine.status_code != 200 or theirs.status_code != 200:
            return f"round {i}: /users/me {mine.status_code}, /users/id {theirs.status_code}"
        row = user_row(u["id"])
        if row["email"] != new_email or not row["is_superuser"]:
            return f"round {i}: the password change undid the administrator's change: {row}"
        if not can_login(new_email, new_password):
            return f"round {i}: the administrator's change undid the password change"
        return None

    assert run_rounds(one_round) == []


def test_a_reset_racing_a_password_change_by_an_older_session_never_lets_both_win():
    """A stolen session changing the password while its owner resets it: the
    reset ends every session, so either the change came first (and the reset's
    token, made for the old password, is spent) or the reset did (and the
    change, whose session it ended, writes nothing). Both answered 200 and the
    thief's password won in some rounds when the change's write did not check
    its session under the row's lock."""
    def one_round(pool, i):
        email = unique_email("race-stolen")
        u = register(email)
        stolen = login(email)
        token = token_of(u["id"], "after_forgot_password", "/auth/forgot-password", email)
        change, reset = both(
            pool, DELAYS[i % len(DELAYS)],
            lambda: requests.patch(url("/users/me"), headers=bearer(stolen), json={"password": "the-thiefs-own"}),
            lambda: requests.post(url("/auth/reset-password"),
                                  json={"token": token, "password": "the-owners-new"}))
        codes = (change.status_code, reset.status_code)
        if codes not in ((200, 400), (401, 200)):
            return f"round {i}: change {change.status_code}, reset {reset.status_code}"
        winner, loser = ("the-thiefs-own", "the-owners-new") if codes == (200, 400) else \
            ("the-owners-new", "the-thiefs-own")
        if not can_login(email, winner) or can_login(email, loser):
            return f"round {i}: answers {codes} but the password is not {winner}"
        return None

    assert run_rounds(one_round) == []


def test_two_changes_of_the_address_each_answer_the_address_they_wrote():
    """Each of two concurrent PATCHes of the e-mail answers the row it wrote:
    one that asked for the address the user had when its request was read
    still writes it (another may have changed it meanwhile)."""
    def one_round(pool, i):
        first = unique_email("race-address")
        u = register(first)
        access = login(first)
        second = unique_email("race-address-b")
        back, away = both(
            pool, DELAYS[i % len(DELAYS)] / 10,
            lambda: requests.patch(url("/users/me"), headers=bearer(access), json={"email": first}),
            lambda: requests.patch(url("/users/me"), headers=bearer(access), json={"email": second}))
        if back.status_code != 200 or away.status_code != 200:
            return f"round {i}: {back.status_code}, {away.status_code}"
        if back.json()["email"] != first or away.json()["email"] != second:
            return f"round {i}: asked {first} and {second}, answered {back.json()['email']} and {away.json()['email']}"
        if user_row(u["id"])["email"] not in (first, second):
            return f"round {i}: the row holds neither address"
        return None

    assert run_rounds(one_round) == []


def test_one_reset_token_sent_twice_at_once_resets_once():
    def one_round(pool, i):
        email = unique_email("race-token")
        u = register(email)
        token = token_of(u["id"], "after_forgot_password", "/auth/forgot-password", email)
        answers = both(
            pool, 0.0,
            lambda: requests.post(url("/auth/reset-password"), json={"token": token, "password": "first-of-two"}),
            lambda: requests.post(url("/auth/reset-password"), json={"token": token, "password": "second-of-two"}))
        codes = sorted(a.status_code for a in answers)
        # The events are written in the same transaction as the new hash.
        events = sql(f"SELECT COUNT(*) FROM hook_event WHERE user_id = '{u['id']}' "
                     "AND event = 'after_reset_password'")[0][0]
        if codes != [200, 400] or events != "1":
            return f"round {i}: answers {codes}, {events} after_reset_password events"
        loser = next(a for a in answers if a.status_code == 400)
        if loser.json() != {"detail": "RESET_PASSWORD_BAD_TOKEN"}:
            return f"round {i}: the second reset answered {loser.text}"
        winner = "first-of-two" if answers[0].status_code == 200 else "second-of-two"
        if not can_login(email, winner) or can_login(email, PASSWORD):
            return f"round {i}: the password is not the winner's"
        return None

    assert run_rounds(one_round) == []


def metric(name):
    for line in requests.get(url("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return int(line.rsplit(" ", 1)[1])
    return 0


def test_concurrent_requests_of_many_users_each_read_their_own_user():
    # Requests that arrive together may read their users in one statement
    # (read_batch): every answer must still be its own caller's, and a user
    # deactivated by SQL is refused on every request after the change.
    users = []
    for _ in range(12):
        u = register()
        users.append((u, login(u["email"])))
    gone = users[-1][0]
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{gone['id']}'")
    reads_before = metric("fcgi_users_user_reads_total")

    def one(i):
        u, token = users[i % len(users)]
        if i % 2:
            r = requests.get(url("/users/me"), headers=bearer(token))
            seen = r.json().get("id") if r.status_code == 200 else None
            email = r.json().get("email") if r.status_code == 200 else None
        else:
            r = requests.get(url("/auth/check"), headers=bearer(token))
            seen, email = r.headers.get("x-user-id"), r.headers.get("x-user-email")
        want = 401 if u is gone else 200
        if r.status_code != want or (want == 200 and (seen, email) != (u["id"], u["email"])):
            return f"request {i} of {u['email']}: {r.status_code} {seen} {email}"
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        problems = [p for p in pool.map(one, range(600)) if p]
    assert problems == []
    # Every one of those requests read its user (batched or not); none was
    # answered from a cache.
    assert metric("fcgi_users_user_reads_total") - reads_before >= 600
