"""The program's subcommands as an administrator uses them: check-config,
migrate, user create / set-password, bad configurations, and serving on a
socket inherited from spawn-fcgi."""
import os
import signal
import subprocess
import time

import requests

import fcgi_client
from conftest import BINARY, VAR, login, sql, stack_env, unique_email, url, wait_for



def run(*args, env=None, stdin=""):
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True, env=env or stack_env(),
                          timeout=60)


def test_check_config_prints_every_key_with_secrets_masked():
    r = run("check-config")
    assert r.returncode == 0, r.stderr
    assert "workers = 8" in r.stdout
    assert "access_token.secret = ********" in r.stdout
    secret = open(os.path.join(VAR, "secrets", "access_token")).read().strip()
    assert secret not in r.stdout and secret not in r.stderr


def test_bad_configuration_is_one_line_naming_the_key_and_exit_2():
    cases = [
        ("FCGI_USERS_WORKERS", "lots", "workers"),
        ("FCGI_USERS_JWT_ALGORITHM", "none", "jwt.algorithm"),
        ("FCGI_USERS_LISTEN", "/no/such/dir/sock", "listen"),
        ("FCGI_USERS_LISTEN", "127.0.0.1:99999999999999999999", "listen"),
        ("FCGI_USERS_COOKIE_SAMESITE", "sometimes", "cookie.samesite"),
        ("FCGI_USERS_RESET_SECRET_FILE", VAR, "reset.secret_file"),  # a folder
    ]
    for var, value, key in cases:
        r = run("check-config", env=stack_env(**{var: value}))
        assert r.returncode == 2, var
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0], r.stderr
    env = stack_env(FCGI_USERS_ACCESS_TOKEN_SECRET="short")
    env.pop("FCGI_USERS_ACCESS_TOKEN_SECRET_FILE")
    r = run("check-config", env=env)
    assert r.returncode == 2 and "access_token.secret" in r.stderr
    conf = os.path.join(VAR, "bad.conf")
    with open(conf, "w") as f:
        f.write("workers = 4\nnot_a_key = 1\n")
    r = run("--config", conf, "check-config")
    assert r.returncode == 2 and "not_a_key" in r.stderr and "bad.conf:2" in r.stderr


def test_migrate_is_idempotent_and_recorded():
    r = run("migrate")
    assert r.returncode == 0, r.stderr
    assert "0 applied" in r.stdout
    assert ["001_schema.sql"] in sql("SELECT name FROM schema_migrations")


def test_user_create_and_set_password():
    email = unique_email("cli")
    r = run("user", "create", "--email", email, "--superuser", "--verified", stdin="cli-password-1\n")
    assert r.returncode == 0, r.stderr
    user_id = r.stdout.strip()
    assert sql(f"SELECT id, is_superuser, is_verified FROM user WHERE email = '{email}'") == [[user_id, "1", "1"]]
    assert login(email, "cli-password-1")
    r = run("user", "create", "--email", email.upper(), stdin="cli-password-1\n")
    assert r.returncode == 1 and "exists" in r.stderr
    r = run("user", "create", "--email", unique_email(), stdin="short\n")
    assert r.returncode == 1 and "at least" in r.stderr
    spaced = unique_email("cli-spaced")  # read as the HTTP routes read it: the spaces around dropped
    r = run("user", "create", "--email", f" {spaced}\u00a0", stdin="cli-password-1\n")
    assert r.returncode == 0 and sql(f"SELECT id FROM user WHERE email = '{spaced}'") == [[r.stdout.strip()]]
    for bad in ("not-an-address", "a\u200b" + unique_email(), "a\u00a0" + unique_email()):
        r = run("user", "create", "--email", bad, stdin="cli-password-1\n")  # the rules of /auth/register
        assert r.returncode == 1 and "--email: " in r.stderr, (bad, r.stderr)
        assert sql(f"SELECT COUNT(*) FROM user WHERE email = '{bad}'") == [["0"]]
    r = run("user", "set-password", "--email", email, stdin="cli-password-2\n")
    assert r.returncode == 0, r.stderr
    assert login(email, "cli-password-2")
    assert run("user", "set-password", "--email", unique_email(), stdin="x\n").returncode == 1
    assert run("user", "create").returncode == 2


def test_serves_on_a_socket_inherited_from_spawn_fcgi():
    sock = os.path.join(VAR, "run", "spawned.sock")
    pidfile = os.path.join(VAR, "run", "spawned.pid")
    env = stack_env(FCGI_USERS_LISTEN="")
    r = subprocess.run(["spawn-fcgi", "-s", sock, "-P", pidfile, "--", BINARY, "serve"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pid = int(open(pidfile).read())
    try:
        status, _, body = fcgi_client.request(sock, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"})
        assert (status, body) == (200, b'{"status":"ok"}')
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10)


def test_serve_without_any_socket_is_a_configuration_error():
    r = subprocess.run([BINARY, "serve"], env=stack_env(FCGI_USERS_LISTEN=""), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "listen" in r.stderr


def test_user_create_puts_terminal_echo_back_when_interrupted():
    import pty
    import termios
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([BINARY, "user", "create", "--email", unique_email("tty")], stdin=slave,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=stack_env())
        assert proc.stderr.read(len("Password:")) == b"Password:"
        assert wait_for(lambda: not termios.tcgetattr(slave)[3] & termios.ECHO, timeout=10)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGINT
        assert termios.tcgetattr(slave)[3] & termios.ECHO, "echo left off"
    finally:
        os.close(master)
        os.close(slave)
