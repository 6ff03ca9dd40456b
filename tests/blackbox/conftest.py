"""Shared helpers for the black-box tests. They run against the real stack
that scripts/test starts (nginx, fcgi-users, MariaDB under var/test) and
control it through scripts/stack."""
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.environ.get("FCGI_USERS_TEST_URL", "")
VAR = os.environ.get("FCGI_USERS_VAR", "")
HOOK_FILE = os.environ.get("FCGI_USERS_HOOK_FILE", "")

if not BASE or not VAR or "FCGI_USERS_APP_SOCKET" not in os.environ:
    raise RuntimeError("black-box tests run against the stack of scripts/test; run scripts/test")

APP_SOCKET = os.environ["FCGI_USERS_APP_SOCKET"]  # scripts/lib.sh: under WEB
APP_PID_FILE = os.path.join(VAR, "run", "fcgi-users.pid")
PASSWORD = "guinevere-forever"
# The rule for a test that starts fcgi-users itself: run BINARY (the build under
# test: scripts/test's sanitizer passes point FCGI_USERS_BUILD at build-asan or
# build-tsan) with stack_env(), which carries the sanitizers' settings, so any
# report lands beside the others under $FCGI_USERS_VAR/sanitizer and fails the run.
BINARY = os.path.join(os.environ.get("FCGI_USERS_BUILD", os.path.join(ROOT, "build")), "fcgi-users")
SANITIZER_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS")


def stack_env(**extra):
    """The environment scripts/lib.sh gives fcgi-users on the test stack."""
    out = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib.sh; app_env; env"], capture_output=True, text=True,
                         check=True, env=dict(os.environ)).stdout
    env = dict(line.split("=", 1) for line in out.splitlines()
               if line.startswith("FCGI_USERS_") or line.startswith("PATH=") or line.split("=", 1)[0] in SANITIZER_ENV)
    env.update(extra)
    return env


# Whether the stack's fcgi-users may run with other settings than the stack's
# own (a test restarted it with some, stopped or killed it): the next test that
# needs the stack's settings, or the end of the session, restarts it with them.
_app_changed = False


def restart_app(**env):
    """Restarts the stack's fcgi-users with FCGI_USERS_<KEY> = value for each key=value (hook commands, ...)."""
    global _app_changed
    _app_changed = True
    stack("app-restart", env={f"FCGI_USERS_{k.upper()}": v for k, v in env.items()})
    assert wait_for(lambda: requests.get(url("/healthz")).status_code == 200)
    _app_changed = bool(env)


@pytest.fixture
def default_app():
    """For tests that restart fcgi-users otherwise, each with its own settings
    before relying on any: the stack's settings again afterwards. They are put
    back lazily, once, before the next test that does not use this fixture (or
    at the end of the session), not between two tests that each restart it
    with their own settings first (a restart that would prove nothing)."""
    global _app_changed
    _app_changed = True  # whatever the test does to fcgi-users, even if it fails midway
    yield


@pytest.fixture(autouse=True)
def _stack_settings(request):
    """The stack's own fcgi-users settings for every test but those of default_app."""
    if _app_changed and "default_app" not in request.fixturenames:
        restart_app()
    yield


@pytest.fixture(autouse=True, scope="session")
def _stack_settings_at_the_end():
    yield
    if _app_changed:
        restart_app()


def url(path):
    return BASE + path


def stack(*args, env=None):
    """scripts/stack with the test stack's environment plus `env`."""
    full = dict(os.environ)
    full.update(env or {})
    subprocess.run([os.path.join(ROOT, "scripts", "stack"), *args], check=True, env=full,
                   stdout=subprocess.DEVNULL)


def sql(query):
    """Runs SQL on the test database; returns rows as lists of strings."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "sql"), "-N", "-B", "-e", query], check=True,
                         capture_output=True, text=True, env=dict(os.environ)).stdout
    return [line.split("\t") for line in out.splitlines()]


def admin_sql(query, database=None):
    """SQL as the database's administrator (scripts/lib.sh's db_admin)."""
    args = f"{ROOT}/scripts/lib.sh; db_admin -N -B " + (f"-D {database} " if database else "")
    return subprocess.run(["bash", "-c", f". {args} -e \"$1\"", "admin_sql", query], capture_output=True,
                          text=True, env=dict(os.environ), timeout=60)


def migrate(database, migrations_dir):
    # app_env sets the stack's database and migrations; these two then override them.
    out = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib.sh; app_env; export FCGI_USERS_DB_NAME={database} "
                          f"FCGI_USERS_MIGRATIONS_DIR={migrations_dir}; \"$BUILD/fcgi-users\" migrate"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@contextlib.contextmanager
def database_at_version(tmp_path, version):
    """A new database migrated with sql/001..`version` only, as that release
    made it; dropped afterwards. Yields its name."""
    db = f"fcgi_users_v{version}_" + uuid.uuid4().hex[:8]
    setup = admin_sql(f"CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; "
                      f"GRANT ALL PRIVILEGES ON {db}.* TO 'fcgi_users'@'localhost'")
    assert setup.returncode == 0, setup.stderr
    try:
        old = tmp_path / f"v{version}"
        old.mkdir()
        for name in sorted(os.listdir(os.path.join(ROOT, "sql"))):
            if name[:3].isdigit() and int(name[:3]) <= version:
                (old / name).write_text(open(os.path.join(ROOT, "sql", name)).read())
        migrate(db, str(old))
        yield db
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {db}")


def forget_local_failures():
    """Deletes the login throttle's counters of this machine's address (the
    failed logins and bad tokens the tests sent through nginx count against
    127.0.0.1, up to throttle.address_failures in a window)."""
    for kind in ("address", "token"):
        digest = hashlib.sha256(f"{kind}:127.0.0.1".encode()).digest()
        sql(f"DELETE FROM login_throttle WHERE k = '{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}'")


def unique_email(prefix="user"):
    return f"{prefix}.{uuid.uuid4().hex[:12]}@camelot.bt"


def register(email=None, password=PASSWORD):
    email = email or unique_email()
    r = requests.post(url("/auth/register"), json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return r.json()


def login(email, password=PASSWORD, backend="jwt"):
    r = requests.post(url(f"/auth/{backend}/login"), data={"username": email, "password": password})
    assert r.status_code in (200, 204), r.text
    if backend == "cookie":
        return r.cookies["fastapiusersauth"]
    return r.json()["access_token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def make_superuser(email):
    sql(f"UPDATE user SET is_superuser = TRUE WHERE email = '{email}'")


def wait_for(predicate, timeout=15.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def hook_lines():
    if not os.path.exists(HOOK_FILE):
        return []
    with open(HOOK_FILE) as f:
        return [json.loads(line) for line in f if line.strip()]


def hooks_for(user_id, event=None):
    return [h for h in hook_lines() if h["user_id"] == user_id and (event is None or h["event"] == event)]


def wait_hook(user_id, event, count=1, timeout=15.0):
    found = wait_for(lambda: len(hooks_for(user_id, event)) >= count and hooks_for(user_id, event), timeout)
    assert found, f"no {event} hook for {user_id}"
    return found


@pytest.fixture
def user():
    """A fresh registered user: (user dict, e-mail, bearer token)."""
    email = unique_email()
    u = register(email)
    return u, email, login(email)


@pytest.fixture
def superuser():
    email = unique_email("admin")
    u = register(email)
    make_superuser(email)
    return u, email, login(email)


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims, secret, alg="HS256", header=None):
    """A JWT signed by hand, for the tokens fcgi-users must refuse."""
    import hashlib
    import hmac
    header = header or {"alg": alg, "typ": "JWT"}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if alg == "none":
        return signing + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return signing + "." + b64url(hmac.new(secret.encode(), signing.encode(), digest).digest())


def jwt_claims(token):
    import base64
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def secret(name):
    with open(os.path.join(VAR, "secrets", name)) as f:
        return f.read().strip()
