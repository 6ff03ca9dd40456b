"""The Debian package and the operator's day (README, "Installing the
package"): scripts/package builds the .deb; it is inspected (dpkg -I/-c,
lintian), extracted into a staging root with dpkg -x (the machine's own /etc
and /usr are never touched), its postinst/postrm run on that root, its units
checked with systemd-analyze verify, and the installed program is run against
the test MariaDB under systemd-socket-activate behind an nginx that includes
the installed snippets, restarted under load on a socket held outside it, and
behind Apache with the installed example."""
# ctest labels: no_sanitizers  # it builds and tests its own Release package, not the build under test
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import ROOT, VAR, unique_email, wait_for

PASSWORD = "excalibur-in-the-stone"
DB_NAME = "fcgi_users_pkg"
DB_SOCKET = os.path.join(VAR, "run", "mysqld.sock")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, env=None, stdin="", check=True):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def deb():
    out = run([os.path.join(ROOT, "scripts", "package")]).stdout.strip().splitlines()
    path = out[-1]
    assert os.path.isabs(path) and path.endswith("_amd64.deb") and os.path.isfile(path), out
    return path


@pytest.fixture(scope="module")
def work():
    # Apache's workers (user daemon) must reach the files in here: not under var/.
    d = tempfile.mkdtemp(prefix="fcgi-users-pkg.")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def new_root(work, name):
    """A staging root with the package extracted and the few files postinst needs."""
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "etc"))
    for f, line in (("passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("group", "root:x:0:\n"),
                    ("shadow", "root:*:19000:0:99999:7:::\n"), ("gshadow", "root:*::\n")):
        with open(os.path.join(root, "etc", f), "w") as fh:
            fh.write(line)
    return root


@pytest.fixture(scope="module")
def stage(deb, work):
    root = new_root(work, "stage")
    run(["dpkg", "-x", deb, root])
    control = os.path.join(work, "control")
    run(["dpkg-deb", "-e", deb, control])
    run([os.path.join(control, "postinst"), "configure"], env=dict(os.environ, DPKG_ROOT=root))
    return root


def db_admin(sql):
    run(["mariadb", "--no-defaults", f"--socket={DB_SOCKET}", "-u", "root", "-e", sql])


@pytest.fixture(scope="module")
def conf(stage, work):
    """/etc/fcgi-users/fcgi-users.conf as an operator completes it, pointing at a fresh
    database of the test MariaDB; the staging root's paths replace /etc and /usr."""
    db_admin(f"DROP DATABASE IF EXISTS {DB_NAME}; CREATE DATABASE {DB_NAME}; "
             f"GRANT ALL PRIVILEGES ON {DB_NAME}.* TO 'fcgi_users'@'localhost'")
    path = os.path.join(stage, "etc", "fcgi-users", "fcgi-users.conf")
    with open(path) as f:
        text = f.read().replace("/etc/fcgi-users/", os.path.join(stage, "etc", "fcgi-users") + "/")
    text += (f"\ndb.socket = {DB_SOCKET}\ndb.user = fcgi_users\ndb.name = {DB_NAME}\n"
             f"db.password_file = {os.path.join(VAR, 'secrets', 'db_password')}\n"
             f"migrations_dir = {os.path.join(stage, 'usr', 'share', 'fcgi-users', 'sql')}\n"
             "password.argon2_memory_kib = 8192\npassword.argon2_iterations = 1\n")
    with open(path, "w") as f:
        f.write(text)
    return path


def program(stage):
    return os.path.join(stage, "usr", "sbin", "fcgi-users")


def clean_env(**extra):
    """No FCGI_USERS_* of the test stack: the installed program reads its file only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FCGI_USERS_")}
    env.update(extra)
    return env


def test_package_contents_and_control(deb):
    info = run(["dpkg-deb", "-I", deb]).stdout
    for dep in ("adduser", "libfcgi0ldbl", "libmariadb3", "libjwt0", "libsodium23", "libcjson1"):
        assert dep in info, info  # shlibdeps computed the libraries
    files = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/sbin/fcgi-users", "./usr/share/fcgi-users/sql/001_schema.sql",
                 "./etc/fcgi-users/fcgi-users.conf", "./usr/share/man/man8/fcgi-users.8.gz",
                 "./lib/systemd/system/fcgi-users.service", "./lib/systemd/system/fcgi-users.socket",
                 "./usr/share/fcgi-users/nginx/fcgi-users.locations.conf",
                 "./usr/share/fcgi-users/apache/fcgi-users-apache.conf",
                 "./usr/share/fcgi-users/hooks/append-json-line", "./usr/share/doc/fcgi-users/copyright",
                 "./usr/share/fcgi-users/hooks/send-mail", "./usr/share/fcgi-users/portal/index.html",
                 "./usr/share/fcgi-users/nginx/fcgi-users-portal.conf",
                 "./usr/share/fcgi-users/apache/fcgi-users-portal-apache.conf"):
        assert path in files, path
    assert "-rw-r----- root/root" in [l for l in files.splitlines() if l.endswith("fcgi-users.conf")][0]
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout
    assert conffiles.split() == ["/etc/fcgi-users/fcgi-users.conf"]  # never overwritten on upgrade


def test_lintian_reports_no_error(deb):
    r = run(["lintian", "--no-tag-display-limit", deb], check=False)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert errors == [], r.stdout
    assert r.returncode in (0, 1) and "E:" not in r.stderr, r.stderr


def test_man_page_lists_every_configuration_key(stage):
    man = run(["man", "-l", "-P", "cat", os.path.join(stage, "usr/share/man/man8/fcgi-users.8.gz")],
              env=dict(os.environ, MANWIDTH="200")).stdout
    blocks = run([program(stage), "default-config"]).stdout.strip().split("\n\n")[1:]  # after the header
    keys = [block.splitlines()[1][2:].split(" =")[0] for block in blocks]
    assert len(keys) > 40
    for key in keys:
        assert re.search(rf"^ {{7}}{re.escape(key)}( |$)", man, re.M), key
    assert "user create" in man and "check-config" in man


def test_systemd_units_verify(stage, work):
    units = os.path.join(work, "units")
    os.makedirs(units, exist_ok=True)
    for unit in ("fcgi-users.socket", "fcgi-users.service"):
        with open(os.path.join(stage, "lib/systemd/system", unit)) as f:
            text = f.read()
        # The program is in the staging root, not in /usr/sbin.
        with open(os.path.join(units, unit), "w") as f:
            f.write(text.replace("/usr/sbin/fcgi-users", program(stage)))
    r = run(["systemd-analyze", "verify", os.path.join(units, "fcgi-users.socket"),
             os.path.join(units, "fcgi-users.service")],
            env=dict(os.environ, MANPATH=os.path.join(stage, "usr/share/man")), check=False)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", r.stderr + r.stdout
    service = open(os.path.join(units, "fcgi-users.service")).read()
    assert "--config /etc/fcgi-users/fcgi-users.conf" in open(
        os.path.join(stage, "lib/systemd/system/fcgi-users.service")).read()
    assert "Type=notify" in service and "RuntimeDirectoryPreserve=yes" in service


def test_postinst_makes_user_and_secrets_once_and_purge_removes_only_those(deb, work, stage):
    passwd = open(os.path.join(stage, "etc/passwd")).read()
    entry = [l for l in passwd.splitlines() if l.startswith("fcgi-users:")]
    assert len(entry) == 1, passwd
    uid, gid = int(entry[0].split(":")[2]), int(entry[0].split(":")[3])
    etc = os.path.join(stage, "etc", "fcgi-users")
    for name in ("access_token", "reset", "verify"):
        st = os.stat(os.path.join(etc, f"{name}.secret"))
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == uid, name
        assert len(open(os.path.join(etc, f"{name}.secret")).read()) == 64
    st = os.stat(os.path.join(etc, "fcgi-users.conf"))
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == gid

    # Another root: the operator placed one secret before installing.
    root = new_root(work, "purge")
    run(["dpkg", "-x", deb, root])
    control = os.path.join(work, "control")
    env = dict(os.environ, DPKG_ROOT=root)
    mine = os.path.join(root, "etc/fcgi-users/reset.secret")
    with open(mine, "w") as f:
        f.write("the-operator-s-own-secret-of-at-least-32-bytes")
    run([os.path.join(control, "postinst"), "configure"], env=env)
    first = open(os.path.join(root, "etc/fcgi-users/access_token.secret")).read()
    run([os.path.join(control, "postinst"), "configure", "0.1.0"], env=env)  # an upgrade
    assert open(os.path.join(root, "etc/fcgi-users/access_token.secret")).read() == first
    assert open(mine).read() == "the-operator-s-own-secret-of-at-least-32-bytes"
    assert open(os.path.join(root, "etc/passwd")).read().count("fcgi-users:") == 1
    run([os.path.join(control, "postrm"), "purge"], env=env)
    left = sorted(os.listdir(os.path.join(root, "etc/fcgi-users")))
    assert left == ["fcgi-users.conf", "reset.secret"], left
    assert not os.path.exists(os.path.join(root, "var/lib/fcgi-users"))


def test_check_config_on_a_broken_file_names_the_key_and_exits_2(stage, conf, work):
    broken = os.path.join(work, "broken.conf")
    with open(conf) as f:
        text = f.read()
    with open(broken, "w") as f:
        f.write(text + "workers = many\n")
    r = run([program(stage), "--config", broken, "check-config"], env=clean_env(), check=False)
    assert r.returncode == 2 and "workers" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    ok = run([program(stage), "--config", conf, "check-config"], env=clean_env())
    assert "access_token.secret = ********" in ok.stdout


def nginx_conf(work, stage, port, socket_path):
    """An operator's nginx: the installed snippets copied beside nginx.conf."""
    d = os.path.join(work, "nginx")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for f in ("fcgi-users.locations.conf", "fcgi-users-params.conf", "fcgi-users-check-params.conf"):
        shutil.copy(os.path.join(stage, "usr/share/fcgi-users/nginx", f), d)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    upstream fcgi_users {{ server unix:{socket_path}; }}
    server {{
        listen 127.0.0.1:{port};
        include fcgi-users.locations.conf;
    }}
}}
""")
    return d


@pytest.fixture(scope="module")
def site(stage, work):
    """nginx on a free port in front of the socket the installed program will serve."""
    port = free_port()
    sock = os.path.join(work, "fcgi-users.sock")
    d = nginx_conf(work, stage, port, sock)
    run(["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")])
    yield f"http://127.0.0.1:{port}", sock
    pid_file = os.path.join(d, "nginx.pid")
    if os.path.exists(pid_file):
        os.kill(int(open(pid_file).read()), signal.SIGTERM)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_operators_day_under_systemd_socket_activate_behind_nginx(stage, conf, site, work):
    base, sock = site
    env = clean_env()
    migrate = [program(stage), "--config", conf, "migrate"]
    shipped = len([f for f in os.listdir(os.path.join(stage, "usr", "share", "fcgi-users", "sql"))
                   if re.match(r"\d+_.*\.sql$", f)])
    assert shipped == len([f for f in os.listdir(os.path.join(ROOT, "sql")) if re.match(r"\d+_.*\.sql$", f)])
    assert f"{shipped} applied, 0 already applied" in run(migrate, env=env).stdout
    assert f"0 applied, {shipped} already applied" in run(migrate, env=env).stdout  # an upgrade: no-op
    admin = unique_email("operator")
    created = run([program(stage), "--config", conf, "user", "create", "--email", admin, "--superuser"],
                  env=env, stdin=PASSWORD + "\n")
    user_id = created.stdout.strip().splitlines()[-1]

    # Readiness arrives on NOTIFY_SOCKET; logs carry journald priorities when
    # stderr is the journal (JOURNAL_STREAM names it).
    notify_path = os.path.join(work, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(30)
    log_path = os.path.join(work, "journal.log")
    log = open(log_path, "w")
    st = os.fstat(log.fileno())
    if os.path.exists(sock):
        os.unlink(sock)
    proc = subprocess.Popen(
        ["systemd-socket-activate", "-l", sock,
         "-E", f"NOTIFY_SOCKET={notify_path}", "-E", f"JOURNAL_STREAM={st.st_dev}:{st.st_ino}",
         program(stage), "--config", conf, "serve"],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        assert wait_for(lambda: os.path.exists(sock), 15)
        os.chmod(sock, 0o666)
        # The program starts on the first connection, as with a socket unit.
        r = requests.post(base + "/auth/jwt/login", data={"username": admin, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert notify.recv(256) == b"READY=1"
        token = r.json()["access_token"]
        me = requests.get(base + "/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["id"] == user_id and me.json()["is_superuser"] is True
        # SIGHUP does not stop it (the configuration is read at start only).
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert requests.get(base + "/healthz").status_code == 200
    finally:
        stop(proc)
        notify.close()
        log.close()
    assert proc.returncode == 0
    lines = open(log_path).read().splitlines()
    # systemd-socket-activate's own lines come first, up to "Execing ...".
    lines = lines[[i for i, l in enumerate(lines) if l.startswith("Execing ")][0] + 1:]
    assert any(l.startswith("<6>info serving on the inherited socket") for l in lines), lines
    assert all(l[:3] in ("<3>", "<4>", "<6>", "<7>") for l in lines), lines


def test_restart_under_load_on_a_held_socket_gives_no_502(stage, conf, site, work):
    base, sock = site
    admin = unique_email("restart")
    run([program(stage), "--config", conf, "migrate"], env=clean_env())  # when run alone
    run([program(stage), "--config", conf, "user", "create", "--email", admin], env=clean_env(),
        stdin=PASSWORD + "\n")
    pid_file = os.path.join(work, "holder-child.pid")
    holder = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(ROOT, "tests/blackbox/socket_holder.py"), sock, pid_file,
         program(stage), "--config", conf, "serve"],
        env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(work, "holder.log"), "w"))
    statuses = []
    lock = threading.Lock()
    stop_load = threading.Event()
    try:
        assert wait_for(lambda: os.path.exists(pid_file) and os.path.exists(sock), 15)
        r = requests.post(base + "/auth/jwt/login", data={"username": admin, "password": PASSWORD})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def client():
            with requests.Session() as s:
                while not stop_load.is_set():
                    code = s.get(base + "/users/me", headers=headers).status_code
                    with lock:
                        statuses.append(code)

        clients = [threading.Thread(target=client) for _ in range(8)]
        for t in clients:
            t.start()
        for _ in range(3):
            before = len(statuses)
            assert wait_for(lambda: len(statuses) > before + 50, 20)
            pid = int(open(pid_file).read())
            os.kill(pid, signal.SIGTERM)  # the holder starts it again on the same socket
            assert wait_for(lambda: open(pid_file).read() != str(pid), 30)
        before = len(statuses)
        assert wait_for(lambda: len(statuses) > before + 50, 20)
        stop_load.set()
        for t in clients:
            t.join(30)
    finally:
        stop_load.set()
        stop(holder)
    others = {c: statuses.count(c) for c in set(statuses) if c != 200}
    assert others == {}, f"{len(statuses)} requests, not 200: {others}"


@pytest.fixture(scope="module")
def apache_site(stage, conf, work):
    """Apache with the installed example, in front of the installed program on TCP."""
    fcgi_port, apache_port = free_port(), free_port()
    d = os.path.join(work, "apache")
    htdocs = os.path.join(work, "apache-htdocs")  # @WEB@/apache-htdocs
    for sub in ("apache", "apache-run", "run", "log", "apache-htdocs/protected", "apache-htdocs/admin"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    with open(os.path.join(htdocs, "protected", "index.html"), "w") as f:
        f.write("protected page\n")
    with open(os.path.join(htdocs, "admin", "index.html"), "w") as f:
        f.write("admin page\n")
    with open(os.path.join(stage, "usr/share/fcgi-users/apache/fcgi-users-apache.conf")) as f:
        example = f.read()
    assert "127.0.0.1:9100" in example  # as shipped, then the operator's port
    with open(os.path.join(d, "fcgi-users-apache.conf"), "w") as f:
        f.write(example.replace("127.0.0.1:9100", f"127.0.0.1:{fcgi_port}"))
    with open(os.path.join(ROOT, "apache", "apache2.conf.in")) as f:
        server = f.read()
    # The test server of scripts/test (apache/apache2.conf.in), all in this folder.
    server = (server.replace("@VAR@", work).replace("@WEB@", work).replace("@APACHE_PORT@", str(apache_port))
              .replace("@USER_LINE@", "User www-data\nGroup www-data"))
    with open(os.path.join(d, "apache2.conf"), "w") as f:
        f.write(server)
    for sub in ("apache-htdocs", "apache-run"):
        for root, dirs, files in os.walk(os.path.join(work, sub)):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.chmod(n, 0o755)
    shutil.chown(os.path.join(work, "apache-run"), "www-data", "www-data")
    run([program(stage), "--config", conf, "migrate"], env=clean_env())  # when run alone
    app = subprocess.Popen([program(stage), "--config", conf, "serve"],
                           env=clean_env(FCGI_USERS_LISTEN=f"127.0.0.1:{fcgi_port}"),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(work, "log", "apache-app.log"), "w"))
    run(["apache2", "-f", os.path.join(d, "apache2.conf"), "-k", "start"])
    base = f"http://127.0.0.1:{apache_port}"
    try:
        assert wait_for(lambda: requests.get(base + "/healthz").status_code == 200, 20)
        yield base
    finally:
        run(["apache2", "-f", os.path.join(d, "apache2.conf"), "-k", "stop"], check=False)
        stop(app)


def test_apache_example_serves_the_installed_program(stage, conf, apache_site):
    base = apache_site
    email = unique_email("apache")
    r = requests.post(base + "/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    token = requests.post(base + "/auth/jwt/login",
                          data={"username": email, "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(base + "/protected/").status_code == 401
    page = requests.get(base + "/protected/", headers=auth)
    assert page.status_code == 200 and page.text == "protected page\n"
    assert page.headers["X-Seen-User-Id"] == user_id
    assert requests.get(base + "/admin/", headers=auth).status_code == 403
