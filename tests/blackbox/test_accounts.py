"""Register, log in and out on the three backends, and the users routes, with
the exact answers of API.md (FastAPI Users' contract)."""
import concurrent.futures
import time
import uuid

import requests

from conftest import (PASSWORD, bearer, jwt_claims, login, make_jwt, make_superuser, register, secret, sql,
                      stack, unique_email, url, wait_for)

USER_KEYS = {"id", "email", "is_active", "is_superuser", "is_verified"}


# ---------------------------------------------------------------- register

def test_register_returns_201_and_the_user():
    email = unique_email()
    r = requests.post(url("/auth/register"), json={"email": email, "password": PASSWORD})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == USER_KEYS
    assert body["email"] == email
    assert (body["is_active"], body["is_superuser"], body["is_verified"]) == (True, False, False)
    assert uuid.UUID(body["id"]).version == 4 and body["id"] == body["id"].lower()


def test_register_ignores_the_three_flags():
    email = unique_email()
    r = requests.post(url("/auth/register"), json={"email": email, "password": PASSWORD, "is_active": False,
                                                   "is_superuser": True, "is_verified": True})
    assert r.status_code == 201
    assert (r.json()["is_active"], r.json()["is_superuser"], r.json()["is_verified"]) == (True, False, False)
    # FastAPI Users declares them Optional[bool]: null is valid, and ignored too.
    r = requests.post(url("/auth/register"), json={"email": unique_email(), "password": PASSWORD, "is_active": None,
                                                   "is_superuser": None, "is_verified": None})
    assert r.status_code == 201, r.text
    assert (r.json()["is_active"], r.json()["is_superuser"], r.json()["is_verified"]) == (True, False, False)


def test_register_duplicate_in_any_letter_case():
    email = unique_email()
    register(email)
    for variant in (email, email.upper(), email.capitalize()):
        r = requests.post(url("/auth/register"), json={"email": variant, "password": PASSWORD})
        assert r.status_code == 400
        assert r.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}


def test_an_address_that_displays_as_another_is_422_everywhere(user):
    """email-validator's unsafe characters (format, control, private use and
    separators: invisible, or turning text around) make one address display as
    another, so they are an invalid address: on register, PATCH /users/me,
    forgot-password and request-verify-token. Letters of any script stay
    valid."""
    me, email, token = user
    base = unique_email("look")
    local, domain = base.split("@")
    for spoof in (local + "\u00a0@" + domain, local + "\u200b@" + domain, local + "\u202e@" + domain,
                  local + "@cam\u00adelot.bt", "\u0301" + base):
        for method, path, body, headers in (
                ("POST", "/auth/register", {"email": spoof, "password": PASSWORD}, {}),
                ("PATCH", "/users/me", {"email": spoof}, bearer(token)),
                ("POST", "/auth/forgot-password", {"email": spoof}, {}),
                ("POST", "/auth/request-verify-token", {"email": spoof}, {})):
            r = requests.request(method, url(path), json=body, headers=headers)
            assert r.status_code == 422, (spoof, path, r.text)
            [problem] = r.json()["detail"]
            assert problem["loc"] == ["body", "email"] and "unsafe characters" in problem["msg"], problem
    assert sql(f"SELECT COUNT(*) FROM user WHERE email LIKE '{local}%'") == [["0"]]
    assert sql(f"SELECT email FROM user WHERE id = '{me['id']}'") == [[email]]
    for fine in (f"j\u00f6rg.{uuid.uuid4().hex[:8]}@m\u00fcnchen.de", f"\u7528\u6237{uuid.uuid4().hex[:8]}@camelot.bt"):
        assert requests.post(url("/auth/register"), json={"email": fine, "password": PASSWORD}).status_code == 201


def test_an_address_is_read_as_pydantic_reads_it(user):
    """pydantic's EmailStr (FastAPI Users' schemas) drops whitespace around an
    address, no-break and other Unicode spaces included, and reads a "pretty"
    address as the part in <>: the user is stored with the address alone."""
    me, email, token = user
    for sent in (" {} ", "\t{}\u00a0", "King Arthur <{}>", '"Arthur, King <of Camelot>" < {} >'):
        address = unique_email("pretty")
        r = requests.post(url("/auth/register"), json={"email": sent.format(address), "password": PASSWORD})
        assert r.status_code == 201 and r.json()["email"] == address, (sent, r.text)
        assert login(address)
        r = requests.post(url("/auth/register"), json={"email": sent.format(address.upper()), "password": PASSWORD})
        assert r.status_code == 400 and r.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}, sent
        assert requests.post(url("/auth/forgot-password"), json={"email": sent.format(address)}).status_code == 202
    moved = unique_email("pretty-moved")
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"email": f"Me <{moved}> "})
    assert r.status_code == 200 and r.json()["email"] == moved
    for bad in ("King Arthur", "<>", "King (Arthur) <a@camelot.bt>", "<a@camelot.bt> x", " @camelot.bt "):
        r = requests.post(url("/auth/register"), json={"email": bad, "password": PASSWORD})
        assert r.status_code == 422, (bad, r.text)


def test_register_invalid_password_has_code_and_reason():
    email = unique_email()
    for password in ("short", email + "x", "x" * 5000):
        r = requests.post(url("/auth/register"), json={"email": email, "password": password})
        assert r.status_code == 400, password[:20]
        detail = r.json()["detail"]
        assert detail["code"] == "REGISTER_INVALID_PASSWORD"
        assert isinstance(detail["reason"], str) and detail["reason"]


def test_register_bad_input_is_422_never_5xx():
    bodies = [{"password": PASSWORD}, {"email": unique_email()}, {"email": None, "password": PASSWORD},
              {"email": 42, "password": PASSWORD}, {"email": "not-an-address", "password": PASSWORD},
              {"email": unique_email(), "password": 12345678}, {"email": unique_email(), "password": None},
              {"email": unique_email(), "password": PASSWORD, "is_superuser": "maybe"}, [], "text", None]
    for body in bodies:
        r = requests.post(url("/auth/register"), json=body)
        assert r.status_code == 422, body
        assert all({"loc", "msg", "type"} <= set(e) for e in r.json()["detail"])
    deep = "[" * 5000 + "]" * 5000
    r = requests.post(url("/auth/register"), data=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    big = '{"email": "a@b.co", "password": "' + "p" * 60000 + '"}'
    r = requests.post(url("/auth/register"), data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_malformed_utf8_is_422_everywhere_never_5xx(user):
    _, _, token = user
    bodies = [b'{"email": "a\xff\xfe@example.com", "password": "guinevere-forever"}',
              b'{"email": "ok@example.com", "password": "\xc0\xaf-overlong-password"}']
    for body in bodies:
        r = requests.post(url("/auth/register"), data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, body
    for path in ("/auth/forgot-password", "/auth/request-verify-token"):
        r = requests.post(url(path), data=b'{"email": "a\xff@example.com"}', headers={"Content-Type": "application/json"})
        assert r.status_code == 422
    r = requests.patch(url("/users/me"), data=b'{"email": "b\xff@example.com"}', headers={**bearer(token),
                       "Content-Type": "application/json"})
    assert r.status_code == 422
    r = requests.post(url("/auth/jwt/login"), data=b"username=a%FF%FE@example.com&password=x",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400


def post_json(path, text, token=None, method="POST"):
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    return requests.request(method, url(path), data=text.encode(), headers=headers)


def test_a_nul_in_an_email_or_password_is_422_never_cut_short(user):
    _, _, token = user
    email = unique_email("nul")
    for body in ('{"email": "%s\\u0000<script>", "password": "%s"}' % (email, PASSWORD),
                 '{"email": "%s", "password": "%s\\u0000tail"}' % (email, PASSWORD),
                 '{"email": "%s", "password": "\\u0000%s"}' % (email, PASSWORD)):
        r = post_json("/auth/register", body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"][0] == "body"
    raw = b'{"email": "%s\x00<script>", "password": "%s"}' % (email.encode(), PASSWORD.encode())
    r = requests.post(url("/auth/register"), data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{email}'") == [["0"]]
    r = post_json("/users/me", '{"password": "%s\\u0000"}' % PASSWORD, token, "PATCH")
    assert r.status_code == 422
    r = post_json("/auth/forgot-password", '{"email": "%s\\u0000x"}' % email)
    assert r.status_code == 422
    # A key holding a NUL would be read as "email" (Python: another key).
    r = post_json("/auth/register", '{"email\\u0000x": "%s", "password": "%s"}' % (email, PASSWORD))
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid", r.text
    assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{email}'") == [["0"]]


def test_duplicate_json_keys_the_last_wins_as_in_fastapi(user):
    _, _, token = user
    first, last = unique_email("first"), unique_email("last")
    r = post_json("/auth/register", '{"email": "%s", "password": "%s", "email": "%s"}' % (first, PASSWORD, last))
    assert r.status_code == 201 and r.json()["email"] == last
    r = post_json("/auth/register", '{"email": "%s", "password": "x", "password": "%s"}' % (unique_email(), PASSWORD))
    assert r.status_code == 201
    newer = unique_email("patched")
    r = post_json("/users/me", '{"email": "%s", "email": "%s"}' % (unique_email("ignored"), newer), token, "PATCH")
    assert r.status_code == 200 and r.json()["email"] == newer


def test_concurrent_registrations_have_exactly_one_winner():
    email = unique_email("race")
    variants = [email, email.upper(), email.title()] * 6

    def attempt(address):
        return requests.post(url("/auth/register"), json={"email": address, "password": PASSWORD})

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(variants)) as pool:
        answers = list(pool.map(attempt, variants))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1, codes
    assert codes.count(400) == len(variants) - 1, codes
    assert all(a.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"} for a in answers if a.status_code == 400)
    assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{email}'") == [["1"]]


# ------------------------------------------------------------------- login

def test_bearer_login_gives_a_fastapi_users_access_token():
    email = unique_email()
    u = register(email)
    r = requests.post(url("/auth/jwt/login"), data={"username": email.upper(), "password": PASSWORD})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "bearer"
    claims = jwt_claims(body["access_token"])
    assert claims["sub"] == u["id"]
    assert claims["aud"] == ["fastapi-users:auth"]
    assert 3500 < claims["exp"] - time.time() <= 3600


def test_a_file_sent_for_a_form_field_is_no_text():
    # FastAPI reads a multipart part with a filename as an UploadFile, which
    # OAuth2PasswordRequestForm's str fields refuse; it used to be read as
    # its content, so a file holding the password logged in.
    email = unique_email()
    register(email)
    for files, field in (({"username": ("name.txt", email), "password": (None, PASSWORD)}, "username"),
                         ({"username": (None, email), "password": ("password.txt", PASSWORD)}, "password"),
                         ({"username": (None, email), "password": (None, PASSWORD), "scope": ("s.txt", "")},
                          "scope")):
        r = requests.post(url("/auth/jwt/login"), files=files)
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert r.json()["detail"] == [{"loc": ["body", field], "msg": "Input should be a valid string",
                                       "type": "string_type"}], r.text
    # Every problem at once, in OAuth2PasswordRequestForm's field order.
    r = requests.post(url("/auth/jwt/login"), files={"client_id": ("c.txt", "x"), "username": ("u.txt", email),
                                                     "grant_type": (None, "implicit")})
    assert [(e["loc"][1], e["type"]) for e in r.json()["detail"]] == [
        ("grant_type", "string_pattern_mismatch"), ("username", "string_type"), ("password", "missing"),
        ("client_id", "string_type")], r.text
    r = requests.post(url("/auth/jwt/login"), files={"username": (None, email), "password": (None, PASSWORD)})
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    r = requests.post(url("/auth/jwt/refresh"), files={"refresh_token": ("t.txt", refresh)})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "string_type", r.text
    r = requests.post(url("/auth/jwt/refresh"), files={"refresh_token": (None, refresh)})
    assert r.status_code == 200, r.text


def test_login_as_browsers_and_oauth2_clients_send_it():
    email = unique_email()
    register(email)
    r = requests.post(url("/auth/jwt/login"), files={"username": (None, email), "password": (None, PASSWORD)})
    assert r.status_code == 200, r.text
    r = requests.post(url("/auth/jwt/login"), data={"grant_type": "password", "username": email, "password": PASSWORD,
                                                    "scope": "a b", "client_id": "x", "client_secret": "y"})
    assert r.status_code == 200
    r = requests.post(url("/auth/jwt/login"), data={"grant_type": "client_credentials", "username": email,
                                                    "password": PASSWORD})
    assert r.status_code == 422
    # A field sent twice is its last value, as Starlette reads a form.
    r = requests.post(url("/auth/jwt/login"), data=[("username", "nobody@camelot.bt"), ("username", email),
                                                    ("password", PASSWORD)])
    assert r.status_code == 200, r.text
    r = requests.post(url("/auth/jwt/login"), data=[("username", email), ("username", "nobody@camelot.bt"),
                                                    ("password", PASSWORD)])
    assert r.status_code == 400
    # And so is a cookie sent twice.
    r = requests.post(url("/auth/cookie/login"), data={"username": email, "password": PASSWORD})
    cookie = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    for header, status in ((f"fastapiusersauth=garbage; fastapiusersauth={cookie}", 200),
                           (f"fastapiusersauth={cookie}; fastapiusersauth=garbage", 401)):
        assert requests.get(url("/users/me"), headers={"Cookie": header}).status_code == status, header


def test_login_bad_credentials():
    email = unique_email()
    register(email)
    for data in ({"username": email, "password": "wrong-password"},
                 {"username": unique_email(), "password": PASSWORD},
                 {"username": "not-an-email", "password": PASSWORD},
                 {"username": email, "password": "p" * 5000}):
        r = requests.post(url("/auth/jwt/login"), data=data)
        assert r.status_code == 400, data["username"]
        assert r.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


def test_login_inactive_user_is_bad_credentials():
    email = unique_email()
    register(email)
    sql(f"UPDATE user SET is_active = FALSE WHERE email = '{email}'")
    r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD})
    assert r.status_code == 400
    assert r.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


def test_login_missing_fields_or_not_a_form_is_422():
    r = requests.post(url("/auth/jwt/login"), data={"username": unique_email()})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    # A JSON body is read as FastAPI reads it: an empty form, both fields missing.
    r = requests.post(url("/auth/jwt/login"), json={"username": unique_email(), "password": PASSWORD})
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["detail"]] == [(["body", "username"], "missing"),
                                                                    (["body", "password"], "missing")]
    r = requests.post(url("/auth/jwt/login"))
    assert r.status_code == 422


def test_cookie_login_and_logout_attributes():
    email = unique_email()
    register(email)
    r = requests.post(url("/auth/cookie/login"), data={"username": email, "password": PASSWORD})
    assert r.status_code == 204
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value.startswith("fastapiusersauth=")
    token = name_value.split("=", 1)[1]
    assert attributes == ["HttpOnly", "Path=/", "SameSite=lax", "Secure"]
    me = requests.get(url("/users/me"), cookies={"fastapiusersauth": token})
    assert me.status_code == 200 and me.json()["email"] == email
    r = requests.post(url("/auth/cookie/logout"), cookies={"fastapiusersauth": token})
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert r.headers["set-cookie"].startswith("fastapiusersauth=")
    assert requests.post(url("/auth/cookie/logout")).status_code == 401


def test_jwt_logout_needs_a_token_and_revokes_it():
    email = unique_email()
    register(email)
    token = login(email)
    r = requests.post(url("/auth/jwt/logout"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert requests.post(url("/auth/jwt/logout"), headers=bearer(token)).status_code == 204
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 401


def test_database_token_is_stored_hashed_and_revoked_by_logout():
    email = unique_email()
    u = register(email)
    token = login(email, backend="database")
    assert len(token) == 43
    stored = sql(f"SELECT token FROM accesstoken WHERE user_id = '{u['id']}'")
    assert len(stored) == 1 and stored[0][0] != token and len(stored[0][0]) == 43
    assert requests.get(url("/users/me"), headers=bearer(token)).json()["id"] == u["id"]
    assert requests.post(url("/auth/database/logout"), headers=bearer(token)).status_code == 204
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 401
    assert sql(f"SELECT COUNT(*) FROM accesstoken WHERE user_id = '{u['id']}'") == [["0"]]


def test_database_token_lifetime_is_enforced():
    email = unique_email()
    u = register(email)
    token = login(email, backend="database")
    sql(f"UPDATE accesstoken SET created_at = UTC_TIMESTAMP() - INTERVAL 3601 SECOND WHERE user_id = '{u['id']}'")
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 401


def test_requires_verification_per_backend():
    stack("app-restart", env={"FCGI_USERS_BACKEND_DATABASE_REQUIRES_VERIFICATION": "true"})
    try:
        assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)
        email = unique_email()
        register(email)
        r = requests.post(url("/auth/database/login"), data={"username": email, "password": PASSWORD})
        assert r.status_code == 400
        assert r.json() == {"detail": "LOGIN_USER_NOT_VERIFIED"}
        assert requests.post(url("/auth/jwt/login"), data={"username": email, "password": PASSWORD}).status_code == 200
        sql(f"UPDATE user SET is_verified = TRUE WHERE email = '{email}'")
        token = login(email, backend="database")
        assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 200
        sql(f"UPDATE user SET is_verified = FALSE WHERE email = '{email}'")
        assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 403
    finally:
        stack("app-restart")
        assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)


# ------------------------------------------------------------------ tokens

def test_forged_and_broken_tokens_are_401(user):
    u, _, good = user
    key = secret("access_token")
    now = int(time.time())
    claims = {"sub": u["id"], "aud": ["fastapi-users:auth"], "exp": now + 600}
    header, payload, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = [
        header + "." + payload + "." + flipped,                                   # tampered signature
        make_jwt(dict(claims, exp=now - 10), key),                                # expired
        make_jwt({k: v for k, v in claims.items() if k != "exp"}, key),           # no exp
        make_jwt(dict(claims, aud=["fastapi-users:reset"]), key),                 # wrong audience
        make_jwt({k: v for k, v in claims.items() if k != "aud"}, key),           # no audience
        make_jwt(claims, key, alg="none"),                                        # alg none
        make_jwt(claims, key, alg="HS512"),                                       # another algorithm
        make_jwt(claims, "another-secret-of-at-least-32-bytes!!"),                # another secret
        make_jwt(dict(claims, sub="not-a-uuid"), key),                            # sub not a UUID
        make_jwt(dict(claims, sub=str(uuid.uuid4())), key),                       # sub names nobody
        "", "Bearer", "a.b.c", "x" * 7000, "a." + "b" * 7000 + ".c", good + "x",
    ]
    for token in forged:
        r = requests.get(url("/users/me"), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token[:60]
        assert r.json() == {"detail": "Unauthorized"}
        assert r.headers["www-authenticate"] == "Bearer"
    # Accepted: the same claims, signed as FastAPI Users signs them, aud as a string too.
    assert requests.get(url("/users/me"), headers=bearer(make_jwt(claims, key))).status_code == 200
    assert requests.get(url("/users/me"), headers=bearer(make_jwt(dict(claims, aud="fastapi-users:auth"), key))).status_code == 200
    assert requests.get(url("/users/me"), headers={"Authorization": "bearer " + good}).status_code == 200


def test_a_token_has_one_text(user):
    """libsodium's base64 decoder read any byte above 127 as '_', so a token
    with '_' in its signature (compared after decoding; the other two parts
    are signed as text) passed in 129 spellings; only the one issued passes."""
    u, _, _ = user
    key = secret("access_token")
    claims = {"sub": u["id"], "aud": ["fastapi-users:auth"], "exp": int(time.time()) + 600}
    tokens = (make_jwt(dict(claims, n=i), key) for i in range(1000))
    token = next(t for t in tokens if "_" in t.split(".")[2])
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 200
    assert requests.get(url("/auth/check"), headers=bearer(token)).status_code == 200
    at = token.rindex(".") + token.split(".")[2].index("_") + 1
    for byte in ("\x80", "\xbf", "\xff"):  # requests sends the header in latin-1: one byte each
        spelled = token[:at] + byte + token[at + 1:]
        for route in ("/users/me", "/auth/check"):
            r = requests.get(url(route), headers=bearer(spelled))
            assert r.status_code == 401, (route, hex(ord(byte)))


# ------------------------------------------------------------------- users

def test_me_needs_an_active_user(user):
    u, email, token = user
    r = requests.get(url("/users/me"), headers=bearer(token))
    assert r.status_code == 200 and r.json() == u
    r = requests.get(url("/users/me"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    sql(f"UPDATE user SET is_active = FALSE WHERE email = '{email}'")
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 401


def test_patch_me_changes_email_and_password_but_not_flags(user):
    u, email, token = user
    sql(f"UPDATE user SET is_verified = TRUE WHERE email = '{email}'")
    new_email = unique_email("renamed")
    r = requests.patch(url("/users/me"), headers=bearer(token),
                       json={"email": new_email, "is_superuser": True, "is_active": False, "is_verified": True,
                             "id": str(uuid.uuid4()), "hashed_password": "x", "unknown": 1})
    assert r.status_code == 200
    assert r.json() == {"id": u["id"], "email": new_email, "is_active": True, "is_superuser": False,
                        "is_verified": False}
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"password": "a-new-password-123"})
    assert r.status_code == 200
    assert requests.post(url("/auth/jwt/login"), data={"username": new_email, "password": PASSWORD}).status_code == 400
    assert login(new_email, "a-new-password-123")
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"password": None})
    assert r.status_code == 200
    r = requests.patch(url("/users/me"), headers=bearer(token),
                       json={"is_superuser": None, "is_active": None, "is_verified": None})
    assert r.status_code == 200 and r.json()["is_active"] is True and r.json()["is_superuser"] is False
    assert login(new_email, "a-new-password-123")


def test_patch_me_errors(user):
    _, email, token = user
    other = unique_email()
    register(other)
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"email": other.upper()})
    assert r.status_code == 400 and r.json() == {"detail": "UPDATE_USER_EMAIL_ALREADY_EXISTS"}
    r = requests.patch(url("/users/me"), headers=bearer(token), json={"password": "short"})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "UPDATE_USER_INVALID_PASSWORD"
    assert r.json()["detail"]["reason"]
    # Both wrong: the password is answered first, as FastAPI Users (its
    # BaseUserUpdate declares password before email), whatever the body's order.
    for body in ({"email": other, "password": "short"}, {"password": "short", "email": other}):
        r = requests.patch(url("/users/me"), headers=bearer(token), json=body)
        assert r.status_code == 400 and r.json()["detail"]["code"] == "UPDATE_USER_INVALID_PASSWORD", body
    for body in ({"email": None}, {"email": "nope"}, {"password": 5}):
        assert requests.patch(url("/users/me"), headers=bearer(token), json=body).status_code == 422, body
    assert requests.patch(url("/users/me"), json={"email": unique_email()}).status_code == 401


def test_users_id_routes_need_a_superuser(user, superuser):
    u, _, token = user
    for method in ("GET", "PATCH", "DELETE"):
        r = requests.request(method, url(f"/users/{u['id']}"), headers=bearer(token), json={})
        assert r.status_code == 403 and r.json() == {"detail": "Forbidden"}
        assert requests.request(method, url(f"/users/{u['id']}"), json={}).status_code == 401
    _, _, admin = superuser
    assert requests.get(url(f"/users/{u['id']}"), headers=bearer(admin)).json() == u
    # Every spelling of the id Python's uuid.UUID reads (FastAPI Users' parse_id).
    for spelling in (u["id"].upper(), uuid.UUID(u["id"]).hex, "{" + u["id"] + "}", uuid.UUID(u["id"]).urn):
        r = requests.get(url(f"/users/{spelling}"), headers=bearer(admin))
        assert r.status_code == 200 and r.json() == u, spelling
    r = requests.patch(url(f"/users/{uuid.UUID(u['id']).hex}"), headers=bearer(admin), json={})
    assert r.status_code == 200 and r.json() == u
    for missing in (str(uuid.uuid4()), "not-a-uuid", "me2", u["id"][:-1], u["id"] + "0"):
        r = requests.get(url(f"/users/{missing}"), headers=bearer(admin))
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
        assert requests.delete(url(f"/users/{missing}"), headers=bearer(admin)).status_code == 404
        assert requests.patch(url(f"/users/{missing}"), headers=bearer(admin), json={}).status_code == 404


def test_superuser_patches_flags_and_deletes(user, superuser):
    u, email, token = user
    _, admin_email, admin = superuser
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                       json={"is_verified": True, "is_superuser": True})
    assert r.status_code == 200
    assert r.json()["is_verified"] is True and r.json()["is_superuser"] is True
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin), json={"email": admin_email})
    assert r.status_code == 400 and r.json() == {"detail": "UPDATE_USER_EMAIL_ALREADY_EXISTS"}
    # null leaves a flag as it is (FastAPI Users would try to write NULL).
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin),
                       json={"is_verified": None, "is_superuser": None, "is_active": None})
    assert r.status_code == 200, r.text
    assert (r.json()["is_active"], r.json()["is_verified"], r.json()["is_superuser"]) == (True, True, True)
    r = requests.patch(url(f"/users/{u['id']}"), headers=bearer(admin), json={"is_active": False})
    assert r.json()["is_active"] is False
    assert requests.get(url("/users/me"), headers=bearer(token)).status_code == 401
    r = requests.delete(url(f"/users/{u['id']}"), headers=bearer(admin))
    assert r.status_code == 204 and r.content == b""
    assert requests.get(url(f"/users/{u['id']}"), headers=bearer(admin)).status_code == 404


def test_superuser_promoted_with_plain_sql_takes_effect_at_once(user):
    u, email, token = user
    target = register()
    assert requests.get(url(f"/users/{target['id']}"), headers=bearer(token)).status_code == 403
    make_superuser(email)
    assert requests.get(url(f"/users/{target['id']}"), headers=bearer(token)).status_code == 200
    sql(f"UPDATE user SET is_superuser = FALSE WHERE email = '{email}'")
    assert requests.get(url(f"/users/{target['id']}"), headers=bearer(token)).status_code == 403


def test_email_change_racing_a_registration_leaves_one_owner():
    address = unique_email("contested")
    tokens = []
    for _ in range(4):
        e = unique_email()
        register(e)
        tokens.append(login(e))

    def patch(token):
        return requests.patch(url("/users/me"), headers=bearer(token), json={"email": address}).status_code

    def reg(_):
        return requests.post(url("/auth/register"), json={"email": address.upper(), "password": PASSWORD}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(patch, tokens)) + list(pool.map(reg, range(4)))
    assert all(c in (200, 201, 400) for c in codes), codes
    assert codes.count(200) + codes.count(201) == 1, codes
    assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{address}'") == [["1"]]


# ---------------------------------------------------- moved-over passwords

def test_fastapi_users_hashes_log_in_and_are_upgraded():
    hashes = {
        # bcrypt $2b$ (passlib, FastAPI Users before 13) and argon2id with
        # argon2-cffi's defaults (pwdlib, FastAPI Users 13), both of "password".
        "bcrypt": "$2b$12$J/ZLTnfgr8c4kwf1EbgUTe37DnsUoiYHtjz7NDzLobPC8Y38ABAD2",
        "argon2": "$argon2id$v=19$m=65536,t=3,p=4$YzI5dFpYTmhiSFJ6WVd4MA$QSlmNLKDU2e4xk0b4iiz+M538/Y5Dr95GtwBPtvsybQ",
    }
    for kind, hashed in hashes.items():
        email = unique_email(kind)
        user_id = str(uuid.uuid4())
        sql(f"INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
            f"VALUES ('{user_id}', '{email}', '{hashed}', TRUE, FALSE, FALSE)")
        r = requests.post(url("/auth/jwt/login"), data={"username": email, "password": "wrong"})
        assert r.status_code == 400
        assert sql(f"SELECT hashed_password FROM user WHERE id = '{user_id}'") == [[hashed]]
        token = login(email, "password")
        assert requests.get(url("/users/me"), headers=bearer(token)).json()["id"] == user_id
        upgraded = sql(f"SELECT hashed_password FROM user WHERE id = '{user_id}'")[0][0]
        assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), upgraded
        assert login(email, "password")
