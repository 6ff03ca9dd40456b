"""The stack from a checkout whose parent only its owner may enter (root's home
and every mktemp -d folder are 0700): nginx and Apache serve the API, the demo
pages and the protected folders, their workers run unprivileged when the
scripts run as root, and the private folder stays private."""
import os
import stat
import subprocess
import tarfile
import tempfile

import pytest
import requests

from conftest import BASE, PASSWORD, ROOT, bearer, unique_email

BUILD = os.environ.get("FCGI_USERS_BUILD", os.path.join(ROOT, "build"))
PORT = int(BASE.rsplit(":", 1)[1]) + 10  # five ports of its own, clear of the test stack's
API = f"http://127.0.0.1:{PORT}"


def tracked_files():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f and os.path.exists(os.path.join(ROOT, f))]


@pytest.fixture(scope="module")
def private_stack():
    parent = tempfile.mkdtemp(prefix="fcgi-users-private.")  # mode 0700, like root's home
    checkout = os.path.join(parent, "checkout")
    os.mkdir(checkout)
    archive = os.path.join(parent, "tree.tar")
    with tarfile.open(archive, "w") as tar:
        for f in tracked_files():
            tar.add(os.path.join(ROOT, f), arcname=f, recursive=False)
    with tarfile.open(archive) as tar:
        tar.extractall(checkout)
    os.unlink(archive)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FCGI_USERS_")}
    env.update(FCGI_USERS_HTTP_PORT=str(PORT), FCGI_USERS_BUILD=BUILD, FCGI_USERS_DEV_HOOKS="0")
    stack = os.path.join(checkout, "scripts", "stack")
    try:
        subprocess.run([stack, "up"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=180)
        subprocess.run([stack, "apache-start"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=60)
        yield parent, os.path.join(checkout, "var")
    finally:
        subprocess.run([stack, "down"], env=env, stdout=subprocess.DEVNULL, timeout=180)
        subprocess.run(["rm", "-rf", parent])


def new_user():
    """Registers and logs in a user on the private stack: (e-mail, bearer token)."""
    email = unique_email("private")
    assert requests.post(API + "/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    r = requests.post(API + "/auth/jwt/login", data={"username": email, "password": PASSWORD})
    return email, r.json()["access_token"]


def worker_users(pidfile):
    """The user names of the children of the server whose pid is in `pidfile`."""
    with open(pidfile) as f:
        master = f.read().strip()
    out = subprocess.run(["ps", "-o", "user=", "--ppid", master], capture_output=True, text=True).stdout
    return set(out.split())


def test_the_private_folder_stays_private(private_stack):
    parent, _ = private_stack
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o700


def test_nginx_serves_the_api_and_protects_pages_from_a_private_folder(private_stack):
    email, token = new_user()
    assert requests.get(API + "/users/me", headers=bearer(token)).json()["email"] == email
    site = f"http://127.0.0.1:{PORT + 1}"
    r = requests.get(site + "/private/", headers=bearer(token))
    assert r.status_code == 200 and "private page" in r.text
    assert requests.get(site + "/private/", allow_redirects=False).status_code in (302, 401)


def test_apache_protects_a_folder_from_a_private_folder(private_stack):
    _, token = new_user()
    apache = f"http://127.0.0.1:{PORT + 4}"
    assert requests.get(apache + "/protected/").status_code == 401
    r = requests.get(apache + "/protected/", headers=bearer(token))
    assert r.status_code == 200 and "protected by fcgi-users" in r.text
    assert requests.get(apache + "/admin/", headers=bearer(token)).status_code == 403


def test_web_server_workers_run_unprivileged(private_stack):
    """As root the workers drop to www-data; as anyone else they are that user."""
    _, var = private_stack
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    expected = {"www-data"} if os.geteuid() == 0 else {me}
    assert worker_users(os.path.join(var, "run", "nginx.pid")) == expected
    assert worker_users(os.path.join(var, "run", "apache.pid")) == expected
