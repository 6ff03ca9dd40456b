"""Any site behind nginx protected by fcgi-users (nginx/protect-examples.conf
on the demo server of the test stack): the check route, static folders, an
upstream told who the user is, optional login, and the FastCGI AUTHORIZER role."""
import json
import os
import subprocess
import sys

import pytest
import requests

import fcgi_client
from conftest import APP_SOCKET, BASE, ROOT, bearer, login, make_superuser, register, sql, unique_email, url, wait_for

HTTP_PORT = int(BASE.rsplit(":", 1)[1])
SITE = f"http://127.0.0.1:{HTTP_PORT + 1}"
ECHO_PORT = HTTP_PORT + 2
FORGED = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module", autouse=True)
def echo_upstream():
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "echo_upstream.py"),
                             str(ECHO_PORT)])
    assert wait_for(lambda: _up(f"http://127.0.0.1:{ECHO_PORT}/"), timeout=10)
    yield
    proc.terminate()
    proc.wait(timeout=10)


def _up(address):
    try:
        return requests.get(address, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def seen_headers(response):
    return {k.lower(): v for k, v in response.json()["headers"]}


# -------------------------------------------------------------- check route

def test_check_route_answers_with_user_headers(user):
    u, email, token = user
    r = requests.get(url("/auth/check"), headers=bearer(token))
    assert r.status_code == 200
    assert r.headers["x-user-id"] == u["id"]
    assert r.headers["x-user-email"] == email
    assert r.headers["x-user-is-superuser"] == "false"
    assert r.headers["x-user-is-verified"] == "false"
    r = requests.get(url("/auth/check"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert requests.get(url("/auth/check?require=superuser"), headers=bearer(token)).status_code == 403
    assert requests.get(url("/auth/check?require=verified"), headers=bearer(token)).status_code == 403
    r = requests.get(url("/auth/check?optional"))
    assert r.status_code == 200 and "x-user-id" not in r.headers
    # Fails closed on what it cannot parse.
    assert requests.get(url("/auth/check?require=nonsense"), headers=bearer(token)).status_code == 401
    assert requests.get(url("/auth/check?unknown=1"), headers=bearer(token)).status_code == 401
    assert requests.get(url("/auth/check"), headers={"Authorization": "Bearer " + token[:-1]}).status_code == 401
    assert requests.get(url("/auth/check"), headers={"Authorization": "Basic " + token}).status_code == 401


def test_check_route_ignores_client_user_headers():
    r = requests.get(url("/auth/check"), headers={"X-User-Id": FORGED, "X-User-Is-Superuser": "true"})
    assert r.status_code == 401
    r = requests.get(url("/auth/check?optional"), headers={"X-User-Id": FORGED})
    assert r.status_code == 200 and "x-user-id" not in r.headers


# ---------------------------------------------------- nginx: static folders

def test_static_folder_needs_a_logged_in_user():
    email = unique_email()
    u = register(email)
    r = requests.get(SITE + "/private/")
    assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}
    r = requests.get(SITE + "/private/", headers={"Accept": "text/html"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].endswith("/account/?next=%2Fprivate%2F")
    jwt = login(email)
    assert requests.get(SITE + "/private/", headers=bearer(jwt)).text.startswith("private page")
    cookie = login(email, backend="cookie")
    assert requests.get(SITE + "/private/", cookies={"fastapiusersauth": cookie}).status_code == 200
    db_token = login(email, backend="database")
    assert requests.get(SITE + "/private/", headers=bearer(db_token)).status_code == 200
    assert requests.post(url("/auth/database/logout"), headers=bearer(db_token)).status_code == 204
    assert requests.get(SITE + "/private/", headers=bearer(db_token)).status_code == 401
    assert requests.get(SITE + "/private/", headers=bearer("garbage")).status_code == 401
    # Flags are read on every request: a deactivated user's unexpired JWT opens nothing.
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{u['id']}'")
    assert requests.get(SITE + "/private/", headers=bearer(jwt)).status_code == 401


def test_superuser_folder(user):
    _, email, token = user
    r = requests.get(SITE + "/admin/", headers=bearer(token))
    assert r.status_code == 403 and r.json() == {"detail": "Forbidden"}
    make_superuser(email)
    r = requests.get(SITE + "/admin/", headers=bearer(token))
    assert r.status_code == 200 and r.text.startswith("admin page")


# ------------------------------------------------------- nginx: an upstream

def test_upstream_sees_the_true_user_never_a_forged_one(user):
    u, email, token = user
    forged = {"X-User-Id": FORGED, "X-User-Email": "evil@camelot.bt", "X-User-Is-Superuser": "true",
              "X_User_Id": FORGED, "X_User_Is_Superuser": "true"}
    r = requests.get(SITE + "/app/page", headers={**forged, **bearer(token)})
    assert r.status_code == 200
    seen = seen_headers(r)
    assert seen["x-user-id"] == u["id"]
    assert seen["x-user-email"] == email
    assert seen["x-user-is-superuser"] == "false"
    assert "x_user_id" not in seen and "x_user_is_superuser" not in seen
    assert FORGED not in r.text and "evil@" not in r.text
    r = requests.get(SITE + "/app/page", headers=forged)
    assert r.status_code == 401


def test_optional_mode(user):
    u, _, token = user
    r = requests.get(SITE + "/optional/x", headers={"X-User-Id": FORGED, "X_User_Id": FORGED})
    assert r.status_code == 200
    seen = seen_headers(r)
    assert "x-user-id" not in seen and "x_user_id" not in seen
    r = requests.get(SITE + "/optional/x", headers={"X-User-Id": FORGED, **bearer(token)})
    assert seen_headers(r)["x-user-id"] == u["id"]
    r = requests.get(SITE + "/optional/x", headers=bearer("not-a-token"))
    assert r.status_code == 200 and "x-user-id" not in seen_headers(r)


def test_protected_locations_answer_a_body_too_large_in_json(user):
    """Their own error_page lines replace the server's: each says what a body
    over client_max_body_size (1 MiB here) gets, as the API does."""
    _, _, token = user
    for path in ("/private/", "/admin/", "/app/x", "/optional/x"):
        r = requests.post(SITE + path, data=b"x" * (2 * 1024 * 1024), headers=bearer(token))
        assert r.status_code == 413 and r.json() == {"detail": "Request Entity Too Large"}, (path, r.text[:80])


def test_check_locations_are_internal():
    assert requests.get(SITE + "/_fcgi_users/check").status_code == 404


# ------------------------------------------------ the FastCGI AUTHORIZER role

def test_authorizer_role(user):
    u, email, token = user
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/anything/protected.html"}
    status, headers, _ = fcgi_client.request(APP_SOCKET, dict(params, HTTP_AUTHORIZATION="Bearer " + token),
                                             role=fcgi_client.AUTHORIZER)
    assert status == 200
    assert headers["variable-user_id"] == u["id"]
    assert headers["variable-user_email"] == email
    assert headers["variable-user_is_superuser"] == "false"
    status, headers, _ = fcgi_client.request(APP_SOCKET, dict(params, HTTP_X_USER_ID=FORGED),
                                             role=fcgi_client.AUTHORIZER)
    assert status == 401 and "variable-user_id" not in headers
    status, _, _ = fcgi_client.request(APP_SOCKET, dict(params, HTTP_AUTHORIZATION="Bearer " + token,
                                                        FCGI_USERS_REQUIRE="superuser"), role=fcgi_client.AUTHORIZER)
    assert status == 403


def test_authorizer_ignores_the_protected_urls_query_string(user):
    _, _, token = user
    auth = {"HTTP_AUTHORIZATION": "Bearer " + token}

    def status(query, require=None, credentials=None):
        params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/protected/page?" + query, "QUERY_STRING": query}
        if require is not None:
            params["FCGI_USERS_REQUIRE"] = require
        params.update(credentials or {})
        return fcgi_client.request(APP_SOCKET, params, role=fcgi_client.AUTHORIZER)[0]

    assert status("optional") == 401
    assert status("require=optional") == 401
    assert status("page=2", credentials=auth) == 200
    assert status("require=superuser", credentials=auth) == 200
    assert status("optional", require="superuser", credentials=auth) == 403
    # An unknown word in the server's configuration is its error, not a way in.
    assert status("", require="superuser,bogus", credentials=auth) == 500
    assert status("", require="optional,bogus") == 500


# ------------------------------------------- Apache: mod_authnz_fcgi, proxy_fcgi

APACHE = f"http://127.0.0.1:{HTTP_PORT + 4}"


def test_apache_mounts_the_api_with_proxy_fcgi():
    email = unique_email("apache")
    r = requests.post(APACHE + "/auth/register", json={"email": email, "password": "guinevere-forever"})
    assert r.status_code == 201
    r = requests.post(APACHE + "/auth/jwt/login", data={"username": email, "password": "guinevere-forever"})
    assert r.status_code == 200
    me = requests.get(APACHE + "/users/me", headers=bearer(r.json()["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == email
    assert requests.get(APACHE + "/users/me").status_code == 401


def test_apache_mounts_the_whole_api_as_nginx_does():
    # Every path nginx hands fcgi-users, Apache hands it too, answered alike:
    # the OpenAPI document, the metrics (from loopback), /auth and /users
    # themselves (JSON 404s), a single name with a trailing slash (307).
    # Only /auth/, /users/ and /healthz were mounted: the rest got Apache's
    # HTML 404.
    for path in ("/openapi.json", "/metrics", "/auth", "/users", "/healthz/", "/openapi.json/", "/metrics/",
                 "/healthz"):
        ours, apache = (requests.get(base + path, allow_redirects=False) for base in (BASE, APACHE))
        assert apache.status_code == ours.status_code, (path, apache.status_code, apache.text[:200])
        assert apache.headers.get("content-type") == ours.headers.get("content-type"), (path, apache.headers)
        assert apache.headers.get("location") == ours.headers.get("location"), path
    assert requests.get(APACHE + "/openapi.json").json()["paths"]["/users/me"]
    assert "fcgi_users_" in requests.get(APACHE + "/metrics").text
    assert requests.get(APACHE + "/auth").json() == {"detail": "Not Found"}
    # Only those: a longer path is the site's own (Apache's 404 here).
    for path in ("/healthz/x", "/healthzz", "/metricsfoo", "/metrics/x", "/openapi.jsonx", "/authx"):
        r = requests.get(APACHE + path, allow_redirects=False)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), (path, r.text[:100])


def test_metrics_answer_loopback_itself_only():
    # nginx allows 127.0.0.1 and ::1; Apache the same (not Require local,
    # which admits all of 127.0.0.0/8 and the server's own addresses). A
    # client at 127.0.0.2 stands for any other address, in every spelling.
    for base in (BASE, APACHE):
        assert raw_request(base, "GET", "/metrics")[0] == 200, base
        for path in ("/metrics", "/metrics/", "//metrics", "/%6detrics", "/./metrics"):
            status, _, body = raw_request(base, "GET", path, source="127.0.0.2")
            assert status == 403 and b"fcgi_users_" not in body, (base, path, status)


def test_apache_protects_a_directory_with_the_authorizer_role(user):
    u, email, token = user
    # API clients get the API's JSON from Apache too, not its HTML page.
    for accept in (None, "application/json", "*/*"):
        r = requests.get(APACHE + "/protected/", headers={"Accept": accept} if accept else {})
        assert (r.status_code, r.headers["content-type"], r.json()) == \
            (401, "application/json", {"detail": "Unauthorized"}), accept
    r = requests.get(APACHE + "/protected/", headers={"X-User-Id": FORGED, "X_User_Id": FORGED})
    assert r.status_code == 401
    r = requests.get(APACHE + "/protected/", headers=bearer(token))
    assert r.status_code == 200 and r.text.startswith("protected by fcgi-users")
    assert r.headers["x-seen-user-id"] == u["id"]
    assert r.headers["x-seen-user-email"] == email
    assert requests.get(APACHE + "/protected/", cookies={"fastapiusersauth": login(email, backend="cookie")}).status_code == 200
    assert requests.get(APACHE + "/protected/", headers=bearer(token[:-2])).status_code == 401
    r = requests.get(APACHE + "/admin/", headers=bearer(token))
    assert (r.status_code, r.headers["content-type"], r.json()) == (403, "application/json", {"detail": "Forbidden"})
    # Once the authorizer let the request in, a 403 of the resource (here a
    # file Apache may not read) is not relabelled application/json.
    web = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib.sh; app_env; echo \"$WEB\""], capture_output=True,
                         text=True, check=True, env=dict(os.environ)).stdout.strip()
    locked = os.path.join(web, "apache-htdocs", "protected", "locked.html")
    if os.path.exists(locked):
        os.unlink(locked)
    try:
        with open(locked, "w") as f:
            f.write("nobody reads this")
        os.chmod(locked, 0)
        r = requests.get(APACHE + "/protected/locked.html", headers=bearer(token))
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), r.headers
    finally:
        os.unlink(locked)
    make_superuser(email)
    assert requests.get(APACHE + "/admin/", headers=bearer(token)).status_code == 200
    sql(f"UPDATE user SET is_active = FALSE WHERE id = '{u['id']}'")
    assert requests.get(APACHE + "/protected/", headers=bearer(token)).status_code == 401


def raw_get(base, path, headers=None):
    """GET with the path sent byte for byte (requests would resolve dot segments)."""
    import http.client
    host, port = base.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_clients_query_string_changes_nothing_on_either_server(user, superuser):
    _, _, token = user
    _, _, admin_token = superuser
    for base, protected in ((SITE, "/private/"), (APACHE, "/protected/")):
        assert raw_get(base, protected + "?optional") == 401, base
        assert raw_get(base, protected + "?require=optional") == 401, base
        assert raw_get(base, protected + "?page=2", bearer(token)) == 200, base
        assert raw_get(base, protected + "?page=2", bearer(admin_token)) == 200, base
        assert raw_get(base, "/admin/?page=2", bearer(admin_token)) == 200, base
        assert raw_get(base, "/admin/?page=2", bearer(token)) == 403, base
        assert raw_get(base, "/admin/?optional", bearer(token)) == 403, base


def test_apache_admin_cannot_be_reached_by_another_spelling(user, superuser):
    _, _, token = user
    _, _, admin_token = superuser
    for path in ("/admin/", "/%61dmin/", "/./admin/", "/protected/../admin/", "/admin/./", "/protected/%2e%2e/admin/"):
        assert raw_get(APACHE, path, bearer(token)) in (403, 404), path
        assert raw_get(APACHE, path) in (401, 404), path
    for path in ("/%61dmin/", "/./admin/", "/protected/../admin/"):
        assert raw_get(APACHE, path, bearer(admin_token)) == 200, path


def raw_request(base, method, path, headers=None, source="127.0.0.1"):
    """(status, headers, body) with the path sent byte for byte, from `source`."""
    import http.client
    host, port = base.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_the_app_learns_the_path_nginx_checked_not_the_raw_one(user):
    """"/app/%2e%2e/optional/x" is /optional/x to nginx (no login needed): the
    app must see that path, never one under /app/ (where it may assume a
    logged-in caller)."""
    _, _, token = user
    status, _, body = raw_request(SITE, "GET", "/app/%2e%2e/optional/x")
    assert status == 200 and json.loads(body)["path"] == "/optional/x", body
    status, _, body = raw_request(SITE, "GET", "/optional/%2e%2e/app/x")
    assert status == 401, body
    status, _, body = raw_request(SITE, "GET", "/optional/%2e%2e/app/x", bearer(token))
    assert status == 200 and json.loads(body)["path"] == "/app/x", body


def test_apache_refuses_trace_on_protected_paths(user):
    """TRACE would echo the request, cookie and Authorization included, before
    any authorizer is asked."""
    _, _, token = user
    for path in ("/protected/", "/admin/", "/auth/check"):
        status, _, body = raw_request(APACHE, "TRACE", path, {"Cookie": "fastapiusersauth=" + token, **bearer(token)})
        assert status == 405 and token.encode() not in body, (path, status)


def test_odd_uris_cannot_weaken_a_protected_location(user):
    _, _, token = user
    for path in ("/private/?optional", "/private/?optional=1&require=", "/private/..%2f_fcgi_users/check-optional",
                 "/private/%3Foptional", "/_fcgi_users/check-optional", "//private/", "/private/./"):
        r = requests.get(SITE + path)
        assert r.status_code in (401, 404), path
    for path in ("/admin/?optional", "/admin/?require=", "/admin/%3Foptional"):
        assert requests.get(SITE + path, headers=bearer(token)).status_code in (403, 404), path
