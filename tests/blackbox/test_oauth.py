"""OAuth2 / OpenID Connect login and account association, through nginx,
against the real OpenID Connect provider that scripts/test starts (npm's
oidc-provider, tests/oidc/provider.js). The test client plays the browser:
it follows the provider's redirects, signs in and consents on the provider's
own pages, and brings the code back to the callback."""
import base64
import hashlib
import os
import threading
import time
import urllib.parse

import pytest
import requests

from conftest import (BASE, PASSWORD, bearer, hooks_for, jwt_claims, login, make_jwt, register, secret, sql,
                      stack, unique_email, url, wait_hook)

OIDC = os.environ.get("FCGI_USERS_TEST_OIDC_URL", "")
AUX = os.environ.get("FCGI_USERS_TEST_OIDC_AUX_URL", "")
CSRF = "fastapiusersoauthcsrf"


def provider_env():
    """fcgi-users configured through the environment only, as an operator would."""
    with open(os.environ["FCGI_USERS_TEST_OIDC_SECRET_FILE"]) as f:
        client_secret = f.read().strip()
    names = ("corp", "corplink", "corppub", "corplong", "stall", "huge", "badjson", "rotating")
    env = {"FCGI_USERS_OAUTH_PROVIDERS": ",".join(names), "FCGI_USERS_OAUTH_TIMEOUT_MS": "3000"}
    for name in names:
        key = f"FCGI_USERS_OAUTH_{name.upper()}_"
        issuer = {"stall": AUX + "/stall", "huge": AUX + "/huge", "badjson": AUX + "/badjson",
                  "rotating": AUX + "/rotating"}.get(name, OIDC)
        env[key + "ISSUER"] = issuer
        env[key + "CLIENT_ID"] = name
        env[key + "REDIRECT_URL"] = f"{BASE}/auth/{name}/callback"
        if name != "corppub":
            env[key + "CLIENT_SECRET"] = client_secret
    env["FCGI_USERS_OAUTH_CORPLINK_ASSOCIATE_BY_EMAIL"] = "true"
    env["FCGI_USERS_OAUTH_CORPLINK_IS_VERIFIED_BY_DEFAULT"] = "true"
    env["FCGI_USERS_OAUTH_CORPLINK_BACKEND"] = "cookie"
    return env


@pytest.fixture(scope="module", autouse=True)
def oauth_stack():
    if not OIDC:
        raise RuntimeError("run through scripts/test, which starts the OpenID Connect provider")
    stack("app-restart", env=provider_env())
    yield
    stack("app-restart")


def authorize(name, headers=None, path="/auth/{}/authorize", params=None):
    r = requests.get(url(path.format(name)), headers=headers or {}, params=params)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(CSRF + "=")
    csrf = cookie.split(";")[0].split("=", 1)[1]
    return r.json()["authorization_url"], csrf, cookie


def absolute(base, location):
    return urllib.parse.urljoin(base, location)


def provider_sign_in(authorization_url, login_name, abort=False):
    """Plays the browser at the provider; returns the callback URL it sends back to."""
    s = requests.Session()
    r = s.get(authorization_url, allow_redirects=False)
    for _ in range(10):
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        location = absolute(r.url, r.headers["location"])
        if location.startswith(BASE):
            return location
        if "/interaction/" in location:
            page = s.get(location)
            assert page.status_code == 200, page.text[:300]
            if abort:
                r = s.get(location + "/abort", allow_redirects=False)
            elif 'name="login"' in page.text:
                r = s.post(location, data={"prompt": "login", "login": login_name, "password": "any"},
                           allow_redirects=False)
            else:
                r = s.post(location, data={"prompt": "consent"}, allow_redirects=False)
        else:
            r = s.get(location, allow_redirects=False)
    raise AssertionError("the provider never sent the browser back")


def callback(callback_url, csrf, headers=None):
    parts = urllib.parse.urlsplit(callback_url)
    cookies = {CSRF: csrf} if csrf is not None else {}
    return requests.get(url(parts.path) + "?" + parts.query, cookies=cookies, headers=headers or {},
                        allow_redirects=False)


def oauth_login(name, login_name, headers=None):
    auth_url, csrf, _ = authorize(name, headers)
    return callback(provider_sign_in(auth_url, login_name), csrf)


def me(token):
    r = requests.get(url("/users/me"), headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_authorize_asks_for_pkce_s256_and_a_nonce_and_sets_the_csrf_cookie():
    auth_url, csrf, cookie = authorize("corp")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))
    assert auth_url.startswith(OIDC + "/auth?")
    assert q["client_id"] == "corp" and q["response_type"] == "code"
    assert q["redirect_uri"] == BASE + "/auth/corp/callback"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["nonce"]) >= 43 and "openid" in q["scope"].split()
    claims = jwt_claims(q["state"])
    assert claims["aud"] == "fastapi-users:oauth-state" and claims["csrftoken_sha256"] == csrf_hash(csrf)
    assert csrf not in claims.values()
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert {"HttpOnly", "Secure", "Path=/", "SameSite=lax", "Max-Age=3600"} <= set(attributes)
    # The verifier is not in the URL the code comes back on.
    assert csrf not in auth_url


def test_scopes_query_parameters_replace_the_default_scopes():
    auth_url, _, _ = authorize("corp", params=[("scopes", "openid"), ("scopes", "email"), ("scopes", "profile")])
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))
    assert q["scope"].split() == ["openid", "email", "profile"]


def test_new_user_is_created_logged_in_and_hooked_in_order():
    email = unique_email("oidc")
    r = oauth_login("corp", email)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    user = me(r.json()["access_token"])
    assert user["email"] == email and user["is_verified"] is False and user["is_active"] is True
    assert [(a["oauth_name"], a["account_id"], a["account_email"]) for a in user["oauth_accounts"]] == [
        ("corp", email, email)]
    assert all("token" not in k for a in user["oauth_accounts"] for k in a)
    wait_hook(user["id"], "after_register")
    wait_hook(user["id"], "after_login")
    # Recorded in that order (deliveries run concurrently and may finish in any order).
    assert sql(f"SELECT event FROM hook_event WHERE user_id = '{user['id']}' ORDER BY id") == [
        ["after_register"], ["after_login"]]
    # An unusable password: nobody can log in with a password.
    assert requests.post(url("/auth/jwt/login"), data={"username": email, "password": ""}).status_code == 422


def test_same_provider_account_logs_in_again_without_a_second_user():
    email = unique_email("again")
    first = me(oauth_login("corp", email).json()["access_token"])
    second = oauth_login("corp", email)
    assert second.status_code == 200, second.text
    assert me(second.json()["access_token"])["id"] == first["id"]
    assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{email}'") == [["1"]]
    assert sql(f"SELECT COUNT(*) FROM oauth_account WHERE user_id = '{first['id']}'") == [["1"]]
    wait_hook(first["id"], "after_login", count=2)
    assert len(hooks_for(first["id"], "after_register")) == 1


def test_a_callback_login_is_a_session_as_a_password_login_is():
    """The same answer as the jwt backend's password login: a refresh token
    that rotates, a session that logout-all ends, and a new login after it
    (the user's session generation read at the callback) that counts."""
    email = unique_email("session")
    first = oauth_login("corp", email).json()
    assert set(first) == {"access_token", "token_type", "refresh_token"}
    assert {"sid", "sgen"} <= set(jwt_claims(first["access_token"]))
    r = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    user = me(second["access_token"])
    assert requests.post(url("/auth/logout-all"), headers=bearer(second["access_token"])).status_code == 204
    assert requests.get(url("/users/me"), headers=bearer(second["access_token"])).status_code == 401
    assert requests.post(url("/auth/jwt/refresh"),
                         data={"refresh_token": second["refresh_token"]}).status_code == 401
    again = oauth_login("corp", email).json()
    assert me(again["access_token"])["id"] == user["id"]
    r = requests.post(url("/auth/jwt/refresh"), data={"refresh_token": again["refresh_token"]})
    assert r.status_code == 200, r.text
    assert me(r.json()["access_token"])["id"] == user["id"]


def test_email_of_an_existing_user_is_refused_without_associate_by_email():
    email = unique_email("taken")
    register(email)
    r = oauth_login("corp", email)
    assert r.status_code == 400 and r.json() == {"detail": "OAUTH_USER_ALREADY_EXISTS"}
    assert sql(f"SELECT COUNT(*) FROM oauth_account WHERE account_email = '{email}'") == [["0"]]


def test_associate_by_email_links_the_existing_user_and_the_cookie_backend_answers():
    email = unique_email("link")
    u = register(email)
    r = oauth_login("corplink", email.upper())
    assert r.status_code == 204, r.text
    assert "fastapiusersauth=" in r.headers["set-cookie"]
    cookie = r.headers["set-cookie"].split("fastapiusersauth=")[1].split(";")[0]
    found = requests.get(url("/users/me"), cookies={"fastapiusersauth": cookie}).json()
    assert found["id"] == u["id"]
    assert [a["oauth_name"] for a in found["oauth_accounts"]] == ["corplink"]


def test_is_verified_by_default_makes_new_users_verified():
    email = unique_email("verified")
    r = oauth_login("corplink", email)
    assert r.status_code == 204, r.text
    assert sql(f"SELECT is_verified FROM user WHERE email = '{email}'") == [["1"]]


def test_public_client_uses_pkce_alone():
    r = oauth_login("corppub", unique_email("public"))
    assert r.status_code == 200, r.text


def test_provider_tokens_are_encrypted_at_rest_even_past_4_kib():
    email = unique_email("long")
    r = oauth_login("corplong", email)
    assert r.status_code == 200, r.text
    [[stored, length]] = sql(f"SELECT access_token, LENGTH(access_token) FROM oauth_account "
                             f"WHERE oauth_name = 'corplong' AND account_id = '{email}'")
    assert stored.startswith("v1.") and int(length) > 4500
    assert "xxxxxxxx" not in stored  # the provider's padding is not readable in the table


def test_unverified_or_missing_email_is_refused():
    r = oauth_login("corp", "unverified+" + unique_email("unv"))
    assert r.status_code == 400 and r.json() == {"detail": "OAUTH_NOT_AVAILABLE_EMAIL"}
    r = oauth_login("corp", "noemail")
    assert r.status_code == 400 and r.json() == {"detail": "OAUTH_NOT_AVAILABLE_EMAIL"}


def test_an_address_register_would_refuse_is_no_address():
    """A space or tab before it, a line break, an invisible character: nginx
    and Apache trim the header an app reads, so such an account would reach it
    as the existing user's address. The provider's address meets the rules of
    POST /auth/register, or it is none."""
    email = unique_email("spaced")
    register(email)
    for login_name in (" " + email, "\t" + email, email + "\r\nX-User-Is-Superuser: true",
                       "a\u200b" + email):
        r = oauth_login("corp", login_name)
        assert r.status_code == 400 and r.json() == {"detail": "OAUTH_NOT_AVAILABLE_EMAIL"}, repr(login_name)
    assert sql(f"SELECT COUNT(*) FROM user WHERE email LIKE '%{email}%'") == [["1"]]


def test_a_nul_in_the_providers_claims_refuses_the_id_token():
    """cJSON's strings end at a NUL: a signed sub "a@x.com\\u0000zzz" would be
    read as "a@x.com", another provider account, and log in as its user."""
    email = unique_email("nul")
    assert oauth_login("corp", email).status_code == 200
    r = oauth_login("corp", email + "\x00zzz")
    assert r.status_code == 400 and r.json() == {"detail": "OAUTH_INVALID_ID_TOKEN"}, r.text
    assert sql(f"SELECT COUNT(*) FROM user WHERE email LIKE '{email}%'") == [["1"]]


def test_inactive_user_is_refused():
    email = unique_email("inactive")
    assert oauth_login("corp", email).status_code == 200
    sql(f"UPDATE user SET is_active = FALSE WHERE email = '{email}'")
    r = oauth_login("corp", email)
    assert r.status_code == 400 and r.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


def csrf_hash(csrf):
    return base64.urlsafe_b64encode(hashlib.sha256(csrf.encode()).digest()).rstrip(b"=").decode()


def test_the_callback_url_alone_cannot_use_the_code():
    # Whoever holds only the URL the provider sends the browser back to (an
    # access log line, a referrer, an intercepted redirect) must not get the
    # code exchanged: the CSRF cookie, and the PKCE verifier derived from it,
    # stay in the browser. The state used to carry the cookie's value itself.
    auth_url, csrf, _ = authorize("corp")
    victim = unique_email("intercepted")
    back = provider_sign_in(auth_url, victim)
    claims = jwt_claims(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["state"])
    for guess in [v for v in claims.values() if isinstance(v, str)]:
        r = callback(back, guess)
        assert r.status_code == 400 and r.json() == {"detail": "OAUTH_INVALID_STATE"}, guess
    assert not sql(f"SELECT id FROM user WHERE email = '{victim}'")
    # The victim's own browser still signs in with it: the code was not spent.
    r = callback(back, csrf)
    assert r.status_code == 200, r.text


def test_a_head_request_for_the_callback_neither_spends_the_code_nor_signs_in():
    # A prefetch or an extension may HEAD the URL the provider redirects to,
    # with the browser's cookies: a HEAD is no GET for a route that acts. It
    # ran the callback, which spent the code and signed in.
    auth_url, csrf, _ = authorize("corp")
    email = unique_email("head")
    back = provider_sign_in(auth_url, email)
    parts = urllib.parse.urlsplit(back)
    r = requests.head(url(parts.path) + "?" + parts.query, cookies={CSRF: csrf}, allow_redirects=False)
    assert r.status_code == 405 and r.headers["allow"] == "GET", (r.status_code, r.headers)
    assert not sql(f"SELECT id FROM user WHERE email = '{email}'")
    r = callback(back, csrf)
    assert r.status_code == 200, r.text
    assert me(r.json()["access_token"])["email"] == email


def test_one_code_sent_twice_at_once_is_a_refusal_never_a_provider_failure():
    # oidc-provider revokes what it issued for a code presented twice (RFC
    # 6749 4.1.2), so the callback that got the tokens finds its access token
    # refused at userinfo: a 400, as a spent code is, not a 502
    # OAUTH_PROVIDER_BAD_RESPONSE (every such pair gave one).
    for _ in range(3):
        auth_url, csrf, _ = authorize("corp")
        back = provider_sign_in(auth_url, unique_email("twice"))
        barrier, answers = threading.Barrier(2), []

        def send():
            barrier.wait()
            answers.append(callback(back, csrf))
        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers)
        assert statuses in ([200, 400], [400, 400]), [(r.status_code, r.text) for r in answers]


def test_callback_without_or_with_another_csrf_cookie_is_refused():
    auth_url, csrf, _ = authorize("corp")
    back = provider_sign_in(auth_url, unique_email("csrf"))
    for cookie in (None, "another-value", csrf[:-1]):
        r = callback(back, cookie)
        assert r.status_code == 400 and r.json() == {"detail": "OAUTH_INVALID_STATE"}, cookie
    # The code was not spent by the refused attempts.
    assert callback(back, csrf).status_code == 200


def test_tampered_and_expired_state_are_refused():
    auth_url, csrf, _ = authorize("corp")
    back = provider_sign_in(auth_url, unique_email("state"))
    parts = urllib.parse.urlsplit(back)
    q = dict(urllib.parse.parse_qsl(parts.query))
    tampered = q["state"][:-2] + ("AA" if not q["state"].endswith("AA") else "BB")
    r = requests.get(url(parts.path), params={"code": q["code"], "state": tampered}, cookies={CSRF: csrf})
    assert r.status_code == 400 and r.json() == {"detail": "ACCESS_TOKEN_DECODE_ERROR"}
    expired = make_jwt({"aud": "fastapi-users:oauth-state", "csrftoken_sha256": csrf_hash(csrf), "oauth_name": "corp",
                        "associate": False, "exp": int(time.time()) - 10}, secret("oauth_state"))
    r = requests.get(url(parts.path), params={"code": q["code"], "state": expired}, cookies={CSRF: csrf})
    assert r.status_code == 400 and r.json() == {"detail": "ACCESS_TOKEN_ALREADY_EXPIRED"}
    # A state issued for another provider is no state for this one.
    other = make_jwt({"aud": "fastapi-users:oauth-state", "csrftoken_sha256": csrf_hash(csrf), "oauth_name": "corplink",
                      "associate": False, "exp": int(time.time()) + 600}, secret("oauth_state"))
    r = requests.get(url(parts.path), params={"code": q["code"], "state": other}, cookies={CSRF: csrf})
    assert r.status_code == 400 and r.json() == {"detail": "ACCESS_TOKEN_DECODE_ERROR"}


def test_missing_code_or_state_is_422():
    r = requests.get(url("/auth/corp/callback"))
    assert r.status_code == 422
    assert sorted(e["loc"][1] for e in r.json()["detail"]) == ["code", "state"]


def test_provider_error_access_denied_is_a_400():
    auth_url, csrf, _ = authorize("corp")
    back = provider_sign_in(auth_url, unique_email("deny"), abort=True)
    r = callback(back, csrf)
    assert r.status_code == 400 and r.json() == {"detail": "access_denied"}


def test_replayed_code_is_refused():
    auth_url, csrf, _ = authorize("corp")
    back = provider_sign_in(auth_url, unique_email("replay"))
    assert callback(back, csrf).status_code == 200
    r = callback(back, csrf)
    assert r.status_code == 400 and r.json() == {"detail": "invalid_grant"}


def test_a_different_pkce_verifier_is_refused_by_the_provider():
    # A validly signed state and cookie of another browser: the verifier (and
    # nonce) derived from that cookie are not the ones the code was asked with.
    auth_url, csrf, _ = authorize("corp")
    back = provider_sign_in(auth_url, unique_email("pkce"))
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    other_csrf = "x" * 43
    state = make_jwt({"aud": "fastapi-users:oauth-state", "csrftoken_sha256": csrf_hash(other_csrf), "oauth_name": "corp",
                      "associate": False, "exp": int(time.time()) + 600}, secret("oauth_state"))
    r = requests.get(url("/auth/corp/callback"), params={"code": q["code"], "state": state},
                     cookies={CSRF: other_csrf})
    assert r.status_code == 400 and r.json() == {"detail": "invalid_grant"}


def test_associate_links_a_provider_account_to_the_logged_in_user(user):
    u, email, token = user
    assert requests.get(url("/auth/associate/corp/authorize")).status_code == 401
    auth_url, csrf, _ = authorize("corp", bearer(token), path="/auth/associate/{}/authorize")
    assert jwt_claims(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))["state"])["sub"] == u["id"]
    account = unique_email("assoc")
    back = provider_sign_in(auth_url, account)
    assert urllib.parse.urlsplit(back).path == "/auth/associate/corp/callback"
    assert callback(back, csrf).status_code == 401  # not logged in
    r = callback(back, csrf, bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == u["id"]
    assert [(a["oauth_name"], a["account_email"]) for a in r.json()["oauth_accounts"]] == [("corp", account)]
    # That provider account now logs in as this user.
    again = oauth_login("corp", account)
    assert me(again.json()["access_token"])["id"] == u["id"]


def test_associate_state_of_another_user_is_refused(user):
    _, _, token = user
    other_email = unique_email("other")
    register(other_email)
    other_token = login(other_email)
    auth_url, csrf, _ = authorize("corp", bearer(token), path="/auth/associate/{}/authorize")
    back = provider_sign_in(auth_url, unique_email("steal"))
    r = callback(back, csrf, bearer(other_token))
    assert r.status_code == 400 and r.json() == {"detail": "OAUTH_INVALID_STATE"}


def test_a_provider_that_never_answers_is_a_502_and_other_routes_keep_working(user):
    _, _, token = user
    answers = {}

    def stalled():
        answers["stall"] = requests.get(url("/auth/stall/authorize"), timeout=30)

    t = threading.Thread(target=stalled)
    t.start()
    time.sleep(0.3)
    # While the provider call hangs, /users/me is served.
    assert requests.get(url("/users/me"), headers=bearer(token), timeout=5).status_code == 200
    assert t.is_alive()
    t.join(30)
    assert answers["stall"].status_code == 502
    assert answers["stall"].json() == {"detail": "OAUTH_PROVIDER_UNAVAILABLE"}


def test_huge_or_malformed_provider_answers_are_502():
    for name in ("huge", "badjson"):
        r = requests.get(url(f"/auth/{name}/authorize"), timeout=30)
        assert r.status_code == 502 and r.json() == {"detail": "OAUTH_PROVIDER_BAD_RESPONSE"}, name


@pytest.mark.parametrize("kid", ["rotating-1", "none"])
def test_a_provider_that_replaces_its_signing_key_is_followed(kid):
    # A provider may replace its key under the kid it had, or publish its
    # one key without a kid: the key fcgi-users cached then fails the
    # signature, and only an unknown kid used to fetch the keys again, so
    # every login failed until fcgi-users restarted. (tests/oidc/provider.js,
    # /rotating: oidc-provider cannot change its keys while it runs.)
    def login_through_rotating(email):
        auth_url, csrf, _ = authorize("rotating")
        r = requests.get(auth_url + "&" + urllib.parse.urlencode({"email": email}), allow_redirects=False)
        assert r.status_code == 302, r.text
        return callback(r.headers["location"], csrf)

    def jwks_fetches():
        return requests.get(AUX + "/rotating/stats").json()["jwks_fetches"]

    # Whatever an earlier test left: a key of its own under "rotating-1".
    assert requests.post(AUX + "/rotating/rotate", params={"kid": "rotating-1"}).json()["kid"] == "rotating-1"
    assert login_through_rotating(unique_email("rotating")).status_code == 200
    fetches = jwks_fetches()
    assert login_through_rotating(unique_email("cached")).status_code == 200
    assert jwks_fetches() == fetches, "a key that verifies is used from the cache"
    rotated = requests.post(AUX + "/rotating/rotate", params={"kid": kid})
    assert rotated.json()["kid"] == (None if kid == "none" else kid)
    email = unique_email("rotated")
    r = login_through_rotating(email)
    assert r.status_code == 200, r.text
    assert me(r.json()["access_token"])["email"] == email
    assert jwks_fetches() == fetches + 1, "fetched again once"


def test_openapi_lists_the_providers_routes():
    paths = requests.get(url("/openapi.json")).json()["paths"]
    for name in ("corp", "corplink"):
        for p in (f"/auth/{name}/authorize", f"/auth/{name}/callback", f"/auth/associate/{name}/authorize",
                  f"/auth/associate/{name}/callback"):
            assert "get" in paths[p], p
