# Shared by the scripts in this folder: where things live, and how each part
# of the stack (MariaDB, fcgi-users, nginx) is started and stopped, by pid,
# under $VAR on loopback. Source it; do not run it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# mariadbd, nginx and apache2 live in /usr/sbin, which a user's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
VAR=${FCGI_USERS_VAR:-$ROOT/var}
case "$VAR" in /*) ;; *) VAR=$ROOT/$VAR ;; esac
BUILD=${FCGI_USERS_BUILD:-$ROOT/build}
HTTP_PORT=${FCGI_USERS_HTTP_PORT:-8080}
PROTECTED_PORT=$((HTTP_PORT + 1))  # the demo site behind auth_request
DEMO_APP_PORT=$((HTTP_PORT + 2))   # its upstream application (tests start an echo server there)
FCGI_TCP_PORT=$((HTTP_PORT + 3))   # fcgi-users on TCP, for Apache (scripts/test only)
APACHE_PORT=$((HTTP_PORT + 4))     # Apache with mod_authnz_fcgi (scripts/test only)
OIDC_PORT=${FCGI_USERS_OIDC_PORT:-$((HTTP_PORT + 9))}  # the test and demo OpenID Connect provider
OIDC_AUX_PORT=$((OIDC_PORT - 1))   # its broken siblings (stalling, huge, malformed; scripts/test only)
OIDC_DIR=$ROOT/tests/oidc
PY=/usr/bin/python3

RUN=$VAR/run
LOG=$VAR/log
SECRETS=$VAR/secrets
DB_DATA=$VAR/mysql
DB_SOCKET=$RUN/mysqld.sock
NGINX_DIR=$VAR/nginx

# WEB holds what the web servers' workers must reach: fcgi-users' socket, the
# demo pages, nginx's temporary files, Apache's document root. Run as root,
# nginx's and Apache's workers drop to WEB_USER, which may not enter the
# checkout or $VAR (root's home and every mktemp -d folder are 0700); so WEB is
# then a folder of its own under /run, group WEB_USER (setgid, so the socket
# fcgi-users creates there is in that group too), and nothing of the user's
# own is opened up. Run as anyone else, the workers are that user and WEB is
# $VAR/web.
if [ "$(id -u)" -eq 0 ]; then
    WEB_USER=www-data
    WEB=${FCGI_USERS_WEB_DIR:-/run/fcgi-users-dev/$(printf '%s' "$VAR" | sha256sum | cut -c1-16)}
else
    WEB_USER=
    WEB=${FCGI_USERS_WEB_DIR:-$VAR/web}
fi
APP_SOCKET=$WEB/fcgi-users.sock
export FCGI_USERS_APP_SOCKET=$APP_SOCKET  # the tests talk FastCGI to it directly

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

PACKAGES=(build-essential cmake pkg-config libfcgi-dev libmariadb-dev libjwt-dev libsodium-dev
          libcjson-dev libcrypt-dev googletest libgtest-dev mariadb-server mariadb-client nginx
          python3 python3-pytest python3-requests curl wrk spawn-fcgi apache2
          clang clang-format libclang-rt-14-dev  # fuzzing (scripts/fuzz), the format check
          libcurl4-openssl-dev libssl-dev nodejs  # OAuth: outbound calls, JWKS keys, the test provider
          libnginx-mod-http-ndk libnginx-mod-http-set-misc msmtp python3-aiosmtpd
          chromium chromium-driver python3-selenium  # this line: the sign-in portal and its browser test
          dpkg-dev file lintian systemd man-db passwd  # this line: scripts/package and its test
          galera-4 mariadb-backup socat)  # the last line: scripts/stack galera (SST by mariabackup)

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    # This project runs its own MariaDB, nginx and Apache under var/: the
    # system's copies must not start on install (nginx and apache2 would both
    # want port 80, and the second failing to start fails apt-get). A
    # policy-rc.d that denies every start does that, for this install only.
    local policy=/usr/sbin/policy-rc.d placed=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy" && placed=1
    fi
    # A fresh machine often runs apt-get at boot (apt-daily, unattended
    # upgrades), and another clone's scripts may be installing too: wait for
    # their locks (up to 30 minutes) instead of failing at once. apt-get
    # install waits by itself (DPkg::Lock::Timeout); update does not.
    local rc=0 out tries=0
    while :; do
        rc=0
        out=$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq 2>&1) || rc=$?
        [ $rc -ne 0 ] && grep -q 'Could not get lock' <<<"$out" && [ $((tries += 1)) -le 360 ] || break
        [ $tries -eq 1 ] && say "another apt-get holds its lock: waiting for it (up to 30 minutes)"
        sleep 5
    done
    [ -z "$out" ] || printf '%s\n' "$out" >&2
    [ $rc -eq 0 ] && { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1800 \
        install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?; }
    [ $placed -eq 1 ] && "${sudo[@]}" rm -f "$policy"
    [ $rc -eq 0 ] || die "apt-get failed (exit $rc) installing: ${missing[*]}"
}

build() {
    local type=${FCGI_USERS_BUILD_TYPE:-RelWithDebInfo}
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE="$type" ${FCGI_USERS_CMAKE_ARGS:-} >/dev/null
    cmake --build "$BUILD" -j "$(nproc)" >&2
}

# A killed process stays a zombie until its parent (often init) reaps it, and
# kill -0 still succeeds then: a zombie counts as gone, so a restart right
# after a kill -9 really starts the server again.
pid_alive() {
    [ -f "$1" ] || return 1
    pid_running "$(cat "$1")"
}

pid_running() {  # pid_running PID: the process exists and is no zombie
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ "${state#Z}" = "$state" ]
}

# Sends TERM to the pid in file $1, waits up to $2 seconds, then KILL. It waits
# until the process has exited, not until it is reaped: a zombie has closed its
# files and sockets, and its parent (init, for the stack's daemons) may take
# a while (1.5 s and more on some machines) to reap it.
stop_pid() {
    local file=$1 wait=${2:-20} pid i
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < wait * 10; i++)); do pid_running "$pid" || break; sleep 0.1; done
        pid_running "$pid" && { say "pid $pid did not stop; killing it"; kill -KILL "$pid"; }
    fi
    rm -f "$file"
}

make_dirs() {
    mkdir -p "$RUN" "$LOG" "$SECRETS" "$NGINX_DIR" "$WEB"
    chmod 700 "$SECRETS"
    if [ -n "$WEB_USER" ]; then
        chgrp "$WEB_USER" "$WEB" && chmod 2750 "$WEB"
        chmod 755 "$(dirname "$WEB")"
    fi
}

# Removes WEB when it lives outside $VAR (nothing else would).
web_cleanup() { case "$WEB" in "$VAR"/*) ;; *) rm -rf "$WEB" ;; esac; }

secret() {  # secret NAME: the file holding it, made on first use
    local f=$SECRETS/$1
    [ -s "$f" ] || (umask 077; head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$f")
    printf '%s' "$f"
}

# The environment fcgi-users runs with on this stack. Variables already set
# (FCGI_USERS_HOOK_*, FCGI_USERS_WORKERS, ...) win over these.
app_env() {
    export FCGI_USERS_LISTEN=${FCGI_USERS_LISTEN:-$APP_SOCKET}
    export FCGI_USERS_DB_SOCKET=$DB_SOCKET
    export FCGI_USERS_DB_USER=fcgi_users
    export FCGI_USERS_DB_NAME=fcgi_users
    export FCGI_USERS_DB_PASSWORD_FILE=$(secret db_password)
    export FCGI_USERS_ACCESS_TOKEN_SECRET_FILE=${FCGI_USERS_ACCESS_TOKEN_SECRET_FILE:-$(secret access_token)}
    export FCGI_USERS_RESET_SECRET_FILE=${FCGI_USERS_RESET_SECRET_FILE:-$(secret reset)}
    export FCGI_USERS_VERIFY_SECRET_FILE=${FCGI_USERS_VERIFY_SECRET_FILE:-$(secret verify)}
    export FCGI_USERS_OAUTH_STATE_SECRET_FILE=${FCGI_USERS_OAUTH_STATE_SECRET_FILE:-$(secret oauth_state)}
    export FCGI_USERS_OAUTH_TOKEN_KEY_FILE=${FCGI_USERS_OAUTH_TOKEN_KEY_FILE:-$(secret oauth_token_key)}
    export FCGI_USERS_HOOK_TOKEN_KEY_FILE=${FCGI_USERS_HOOK_TOKEN_KEY_FILE:-$(secret hook_token_key)}
    export FCGI_USERS_MIGRATIONS_DIR=$ROOT/sql
    # The stack records every event in $VAR/hooks.jsonl (tokens included), so
    # the reset and verify flows can be followed by hand. FCGI_USERS_HOOK_<EVENT>
    # overrides one; FCGI_USERS_DEV_HOOKS=0 turns them all off.
    if [ "${FCGI_USERS_DEV_HOOKS:-1}" = 1 ]; then
        portal_mail_hooks  # first: the verify and reset events also mail their link
        local event var
        for event in after_register after_login after_update after_request_verify after_verify \
                     after_forgot_password after_reset_password before_delete after_delete \
                     after_refresh_reuse; do
            var="FCGI_USERS_HOOK_${event^^}"
            [ -n "${!var+set}" ] || export "$var=$(printf '%q %q' "$ROOT/scripts/hooks/append-json-line" "$VAR/hooks.jsonl")"
        done
    fi
}

db_client() {  # the mariadb client as the service's user
    mariadb --defaults-file="$VAR/client.cnf" "$@"
}

db_admin() {  # the mariadb client as the unix-socket administrator
    mariadb --no-defaults --socket="$DB_SOCKET" -u "$(id -un)" "$@"
}

db_start() {
    make_dirs
    pid_alive "$RUN/mariadb.pid" && return 0
    local fresh=0
    if [ ! -d "$DB_DATA/mysql" ]; then
        say "initialising MariaDB in $DB_DATA"
        mariadb-install-db --no-defaults --datadir="$DB_DATA" --user="$(id -un)" \
            --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
            --skip-test-db >"$LOG/mariadb-install.log" 2>&1 || { cat "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
        fresh=1
    fi
    # No TCP at all; durable commits (innodb_flush_log_at_trx_commit = 1); a
    # thread pool, which saves MariaDB ~10 % of CPU per query here (scripts/bench);
    # no performance schema and no query cache (stated, whatever the version's
    # defaults: each costs every statement something, and the cache would be
    # invalidated by every write anyway).
    setsid mariadbd --no-defaults --datadir="$DB_DATA" --socket="$DB_SOCKET" --skip-networking \
        --pid-file="$RUN/mariadbd.pid" --log-error="$LOG/mariadb.log" --user="$(id -un)" \
        --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=128M --max-connections=500 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --thread-handling=pool-of-threads \
        --performance-schema=OFF --query-cache-type=OFF --query-cache-size=0 --skip-name-resolve \
        </dev/null >/dev/null 2>&1 &
    echo $! > "$RUN/mariadb.pid"
    local i
    for ((i = 0; i < 300; i++)); do
        mariadb-admin --no-defaults --socket="$DB_SOCKET" -u "$(id -un)" ping >/dev/null 2>&1 && break
        pid_alive "$RUN/mariadb.pid" || { tail -20 "$LOG/mariadb.log" >&2; die "mariadbd exited"; }
        sleep 0.1
    done
    [ $i -lt 300 ] || die "MariaDB did not answer within 30 s (see $LOG/mariadb.log)"
    local pw
    pw=$(cat "$(secret db_password)")
    if [ $fresh -eq 1 ] || ! db_admin -e "SELECT 1 FROM mysql.user WHERE user='fcgi_users'" 2>/dev/null | grep -q 1; then
        db_admin <<SQL
CREATE DATABASE IF NOT EXISTS fcgi_users CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'fcgi_users'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON fcgi_users.* TO 'fcgi_users'@'localhost';
SQL
    fi
    (umask 077; printf '[client]\nsocket=%s\nuser=fcgi_users\npassword=%s\ndatabase=fcgi_users\n' "$DB_SOCKET" "$pw" > "$VAR/client.cnf")
}

db_stop() { stop_pid "$RUN/mariadb.pid" 60; }

app_start() {
    make_dirs
    pid_alive "$RUN/fcgi-users.pid" && return 0
    app_env
    "$BUILD/fcgi-users" migrate >>"$LOG/fcgi-users.log" 2>&1 || { tail -5 "$LOG/fcgi-users.log" >&2; die "fcgi-users migrate failed"; }
    stale_socket_remove "$FCGI_USERS_LISTEN"
    # umask 007: the socket is group-writable, for the web server's workers (WEB).
    (umask 007; exec setsid "$BUILD/fcgi-users" serve </dev/null >>"$LOG/fcgi-users.log" 2>&1) &
    echo $! > "$RUN/fcgi-users.pid"
    app_wait fcgi-users "$FCGI_USERS_LISTEN"
}

# A socket file left by an fcgi-users that was killed (kill -9, a crash) is
# removed before a new one starts: app_wait would take it for the new server's
# and return while nothing listens yet (nginx answering 502 meanwhile).
# fcgi-users removes it too when it starts; only sooner here.
stale_socket_remove() {  # stale_socket_remove SOCKET (a path; a host:port is left alone)
    case "$1" in */*) [ -S "$1" ] && rm -f "$1" ;; esac
    return 0
}

app_wait() {  # app_wait NAME SOCKET: until the fcgi-users of $RUN/NAME.pid opens SOCKET
    local i
    for ((i = 0; i < 100; i++)); do
        [ -S "$2" ] && return 0
        pid_alive "$RUN/$1.pid" || { tail -5 "$LOG/$1.log" >&2; die "$1 exited"; }
        sleep 0.1
    done
    die "$1 did not open $2"
}

app_stop() { stop_pid "$RUN/fcgi-users.pid" 30; }

nginx_conf() {
    local user_line=""
    [ -n "$WEB_USER" ] && user_line="user $WEB_USER $WEB_USER;"
    mkdir -p "$WEB/nginx-tmp" "$WEB/html"
    sed -e "s|@VAR@|$VAR|g" -e "s|@WEB@|$WEB|g" -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$HTTP_PORT|g" \
        -e "s|@APP_SOCKET@|$APP_SOCKET|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@PROTECTED_PORT@|$PROTECTED_PORT|g" -e "s|@APP_PORT@|$DEMO_APP_PORT|g" \
        "$ROOT/nginx/nginx.conf.in" > "$NGINX_DIR/nginx.conf"
    # Relative includes resolve beside nginx.conf, as they would in /etc/nginx.
    cp "$ROOT"/nginx/*.conf "$NGINX_DIR/"
    rm -f "$NGINX_DIR"/extra-*.conf "$NGINX_DIR"/http-extra-*.conf
    # FCGI_USERS_NGINX_EXTRA: locations added to the API's server;
    # FCGI_USERS_NGINX_EXTRA_HTTP: blocks added to http { } (upstreams).
    if [ -n "${FCGI_USERS_NGINX_EXTRA:-}" ]; then
        sed -e "s|@VAR@|$VAR|g" -e "s|@WEB@|$WEB|g" "$FCGI_USERS_NGINX_EXTRA" > "$NGINX_DIR/extra-$(basename "$FCGI_USERS_NGINX_EXTRA")"
    fi
    if [ -n "${FCGI_USERS_NGINX_EXTRA_HTTP:-}" ]; then
        sed -e "s|@VAR@|$VAR|g" -e "s|@WEB@|$WEB|g" "$FCGI_USERS_NGINX_EXTRA_HTTP" > "$NGINX_DIR/http-extra-$(basename "$FCGI_USERS_NGINX_EXTRA_HTTP")"
    fi
    # The demo site's pages.
    mkdir -p "$WEB/html/private" "$WEB/html/admin"
    echo "private page: any logged-in user sees this" > "$WEB/html/private/index.html"
    echo "admin page: superusers only" > "$WEB/html/admin/index.html"
    portal_nginx_conf
}

nginx_start() {
    make_dirs
    pid_alive "$RUN/nginx.pid" && return 0
    nginx_conf
    nginx -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -t 2>"$LOG/nginx-test.log" || { cat "$LOG/nginx-test.log" >&2; die "nginx configuration test failed"; }
    nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" || die "nginx did not start (see $LOG/nginx-error.log)"
    local i
    for ((i = 0; i < 100; i++)); do [ -s "$RUN/nginx.pid" ] && break; sleep 0.1; done
}

nginx_stop() { stop_pid "$RUN/nginx.pid" 20; }

wait_healthy() {
    local i
    for ((i = 0; i < ${1:-100}; i++)); do
        curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# Apache talks to a second fcgi-users on TCP (mod_authnz_fcgi has no unix sockets).
apache_start() {
    make_dirs
    if ! pid_alive "$RUN/fcgi-users-tcp.pid"; then
        (app_env; export FCGI_USERS_LISTEN=127.0.0.1:$FCGI_TCP_PORT
         # Events are delivered by the unix-socket instance alone: the tests restart that
         # one with other hook commands, and this one must not run its own on their rows.
         export FCGI_USERS_HOOK_CONCURRENCY=0
         setsid "$BUILD/fcgi-users" serve </dev/null >>"$LOG/fcgi-users-tcp.log" 2>&1 & echo $! > "$RUN/fcgi-users-tcp.pid")
    fi
    pid_alive "$RUN/apache.pid" && return 0
    local user_line=""
    [ -n "$WEB_USER" ] && user_line="User $WEB_USER\nGroup $WEB_USER"  # sed turns \n into a line break
    mkdir -p "$VAR/apache" "$WEB/apache-htdocs/protected" "$WEB/apache-htdocs/admin" "$WEB/apache-run"
    echo "protected by fcgi-users through Apache" > "$WEB/apache-htdocs/protected/index.html"
    echo "superusers only, through Apache" > "$WEB/apache-htdocs/admin/index.html"
    sed -e "s|@FCGI_TCP_PORT@|$FCGI_TCP_PORT|g" "$ROOT/apache/fcgi-users-apache.conf" > "$VAR/apache/fcgi-users-apache.conf"
    portal_apache_conf
    sed -e "s|@VAR@|$VAR|g" -e "s|@WEB@|$WEB|g" -e "s|@APACHE_PORT@|$APACHE_PORT|g" -e "s|@USER_LINE@|$user_line|g" \
        "$ROOT/apache/apache2.conf.in" > "$VAR/apache/apache2.conf"
    apache2 -t -f "$VAR/apache/apache2.conf" 2>"$LOG/apache-test.log" || { cat "$LOG/apache-test.log" >&2; die "apache configuration test failed"; }
    apache2 -f "$VAR/apache/apache2.conf" -k start || die "apache did not start (see $LOG/apache-error.log)"
    local i
    for ((i = 0; i < 100; i++)); do [ -s "$RUN/apache.pid" ] && break; sleep 0.1; done
}

apache_stop() { stop_pid "$RUN/apache.pid" 20; stop_pid "$RUN/fcgi-users-tcp.pid" 20; }

# The OpenID Connect provider (tests/oidc/provider.js, npm's oidc-provider)
# on 127.0.0.1:$OIDC_PORT. Its node_modules come from package-lock.json by
# `npm ci`, again only when the lock file changed.
oidc_install() {
    command -v npm >/dev/null || { PACKAGES=(npm); ensure_packages; }
    if ! cmp -s "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.fcgi-users-lock" 2>/dev/null; then
        say "installing the test OpenID Connect provider (npm ci in $OIDC_DIR)"
        (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $OIDC_DIR"
        cp "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.fcgi-users-lock"
    fi
}

# oidc_start CLIENTS [AUX_PORT]: the clients are fcgi-users provider names.
oidc_start() {
    make_dirs
    pid_alive "$RUN/oidc.pid" && return 0
    oidc_install
    OIDC_PORT=$OIDC_PORT OIDC_AUX_PORT=${2:-0} OIDC_REDIRECT_BASE="http://127.0.0.1:$HTTP_PORT" \
        OIDC_CLIENT_SECRET="$(cat "$(secret oidc_client)")" OIDC_CLIENTS="$1" \
        setsid node "$OIDC_DIR/provider.js" </dev/null >>"$LOG/oidc.log" 2>&1 &
    echo $! > "$RUN/oidc.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        curl -fsS "http://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration" >/dev/null 2>&1 && return 0
        pid_alive "$RUN/oidc.pid" || { tail -5 "$LOG/oidc.log" >&2; die "the OpenID Connect provider exited"; }
        sleep 0.1
    done
    die "the OpenID Connect provider did not answer on 127.0.0.1:$OIDC_PORT (see $LOG/oidc.log)"
}

oidc_stop() { stop_pid "$RUN/oidc.pid" 10; }

# fcgi-users' environment for the demo provider "demo" (scripts/run with FCGI_USERS_DEMO_OIDC=1).
demo_oidc_env() {
    export FCGI_USERS_OAUTH_PROVIDERS=demo
    export FCGI_USERS_OAUTH_DEMO_ISSUER=http://127.0.0.1:$OIDC_PORT
    export FCGI_USERS_OAUTH_DEMO_CLIENT_ID=demo
    export FCGI_USERS_OAUTH_DEMO_CLIENT_SECRET_FILE=$(secret oidc_client)
    export FCGI_USERS_OAUTH_DEMO_REDIRECT_URL=http://127.0.0.1:$HTTP_PORT/auth/demo/callback
    export FCGI_USERS_OAUTH_DEMO_BACKEND=cookie
}

stack_up() { smtp_start; db_start; app_start; nginx_start; wait_healthy 150 || die "http://127.0.0.1:$HTTP_PORT/healthz did not answer 200 (see $LOG)"; }
stack_down() { apache_stop; nginx_stop; app_stop; oidc_stop; db_stop; smtp_stop; web_cleanup; }

# --- the sign-in portal (nginx/portal/) and the mail its flows send ----------
# The demo site (PROTECTED_PORT) serves the portal at PORTAL_PATH beside its
# protected locations; the verify and reset hooks mail their links through
# msmtp to a local SMTP server that keeps every message in $VAR/mail/.
PORTAL_PATH=${FCGI_USERS_PORTAL_PATH:-/account/}
SMTP_PORT=${FCGI_USERS_SMTP_PORT:-$((HTTP_PORT + 6))}
MAIL_DIR=$VAR/mail

portal_nginx_conf() {  # the portal's files and its location, mounted at PORTAL_PATH
    case "$PORTAL_PATH" in /*/) ;; *) die "FCGI_USERS_PORTAL_PATH must start and end with /: $PORTAL_PATH" ;; esac
    rm -rf "$WEB/portal"
    cp -r "$ROOT/nginx/portal" "$WEB/portal"
    sed -e "s|/account/|$PORTAL_PATH|g" -e "s|@PORTAL_DIR@|$WEB/portal|g" \
        "$ROOT/nginx/fcgi-users-portal.conf" > "$NGINX_DIR/fcgi-users-portal.conf"
    # The demo's private page says who is signed in (nginx SSI of the check's X-User-Email).
    printf '%s\n' 'private page: any logged-in user sees this.' \
        '<title>Private</title><p id="who">Signed in as <b><!--# echo var="fcgi_users_email" default="" --></b>.' \
        "<p><a href=\"$PORTAL_PATH\">Your account</a>" > "$WEB/html/private/index.html"
}

# The hooks of after_request_verify and after_forgot_password also mail their
# link (scripts/hooks/send-mail), unless FCGI_USERS_HOOK_<EVENT> is set.
portal_mail_hooks() {
    local site="http://127.0.0.1:$PROTECTED_PORT$PORTAL_PATH" event kind var sendmail
    sendmail="msmtp --host=127.0.0.1 --port=$SMTP_PORT --auth=off --tls=off --read-envelope-from -t"
    for event in after_request_verify:verify after_forgot_password:reset; do
        kind=${event#*:} event=${event%:*} var="FCGI_USERS_HOOK_${event^^}"
        [ -n "${!var+set}" ] || export "$var=$(printf '%q %q && %q %q %q --site %q --sendmail %q' \
            "$ROOT/scripts/hooks/append-json-line" "$VAR/hooks.jsonl" \
            "$ROOT/scripts/hooks/send-mail" "$kind" "$site" "fcgi-users demo" "$sendmail")"
    done
}

portal_apache_conf() {  # the portal beside Apache's protected folders
    rm -rf "$WEB/apache-portal"
    cp -r "$ROOT/nginx/portal" "$WEB/apache-portal"
    sed -i -e "s|/account/|$PORTAL_PATH|g" "$WEB/apache-portal/signin-required.html"
    chmod -R a+rX "$WEB/apache-portal"
    sed -e "s|/account/|$PORTAL_PATH|g" -e "s|@PORTAL_DIR@|$WEB/apache-portal|g" \
        "$ROOT/apache/fcgi-users-portal-apache.conf" > "$VAR/apache/fcgi-users-portal-apache.conf"
}

smtp_start() {  # a local SMTP server on loopback that stores each message in $MAIL_DIR
    [ "${FCGI_USERS_DEV_HOOKS:-1}" = 1 ] || return 0  # no mail hooks, no mail
    make_dirs
    pid_alive "$RUN/smtp.pid" && return 0
    mkdir -p "$MAIL_DIR"
    chmod 700 "$MAIL_DIR"  # the mails hold reset and verify tokens
    setsid "$PY" "$ROOT/scripts/mail-store" 127.0.0.1 "$SMTP_PORT" "$MAIL_DIR" \
        </dev/null >>"$LOG/smtp.log" 2>&1 &
    echo $! > "$RUN/smtp.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && return 0
        pid_alive "$RUN/smtp.pid" || { tail -5 "$LOG/smtp.log" >&2; die "the SMTP server exited"; }
        sleep 0.1
    done
    die "the SMTP server did not open 127.0.0.1:$SMTP_PORT"
}

smtp_stop() { stop_pid "$RUN/smtp.pid" 10; }

# --- a MariaDB Galera cluster (scripts/stack galera ...) --------------------
# Three mariadbd nodes with wsrep under $VAR/galera/nodeN, on loopback ports
# from GALERA_PORT (HTTP_PORT + 10): node N serves SQL on GALERA_PORT+N-1, group
# communication on +N+2, IST on +N+5; the one SST port (+9) serves the joins in
# turn (the scripts start nodes one at a time). Two fcgi-users hosts, A on the
# usual socket through nodes 1,2,3 and B on a second socket through nodes
# 2,3,1, sit behind nginx's one fcgi_users upstream.
GALERA_PORT=${FCGI_USERS_GALERA_PORT:-$((HTTP_PORT + 10))}
GALERA_DIR=$VAR/galera
GALERA_SST=${FCGI_USERS_GALERA_SST:-mariabackup}
APP_SOCKET_B=$WEB/fcgi-users-b.sock

galera_sql_port() { echo $((GALERA_PORT + $1 - 1)); }
galera_gcomm_port() { echo $((GALERA_PORT + $1 + 2)); }
galera_socket() { echo "$GALERA_DIR/node$1/mysqld.sock"; }
galera_hosts() {  # galera_hosts 2 3 1: the db.host list through those nodes
    local n out=
    for n in "$@"; do out+=${out:+,}127.0.0.1:$(galera_sql_port "$n"); done
    printf '%s' "$out"
}
galera_admin() {  # galera_admin N ARGS: the mariadb client on node N as the socket administrator
    local n=$1; shift
    mariadb --no-defaults --socket="$(galera_socket "$n")" -u "$(id -un)" "$@"
}
galera_status_var() { galera_admin "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2; }

# galera_node_start N [new]: starts node N (new: it bootstraps a new cluster)
# and waits until it is Synced (a joiner receives IST or SST first).
galera_node_start() {
    local n=$1 new=${2:-} dir=$GALERA_DIR/node$1
    make_dirs
    pid_alive "$RUN/galera-node$n.pid" && return 0
    mkdir -p "$dir"
    if [ ! -d "$dir/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
            --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
            --skip-test-db >"$LOG/galera-install-$n.log" 2>&1 || { cat "$LOG/galera-install-$n.log" >&2; die "mariadb-install-db failed for node $n"; }
    fi
    local cluster=gcomm:// i
    if [ "$new" != new ]; then
        cluster=
        for i in 1 2 3; do cluster+=${cluster:+,}127.0.0.1:$(galera_gcomm_port "$i"); done
        cluster=gcomm://$cluster
    else
        # A new cluster starts from this node's state: say it is safe to.
        [ -f "$dir/data/grastate.dat" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$dir/data/grastate.dat"
    fi
    # What Galera needs of each node: row-based binary log events, InnoDB, and
    # interleaved auto-increment locks; durable commits as on the single node.
    # A file, not options: the SST scripts read theirs ([sst]) from it.
    cat > "$dir/my.cnf" <<CNF
[mysqld]
datadir=$dir/data
socket=$(galera_socket "$n")
port=$(galera_sql_port "$n")
bind-address=127.0.0.1
pid-file=$dir/mariadbd.pid
log-error=$LOG/galera-node$n.log
user=$(id -un)
innodb-flush-log-at-trx-commit=1
innodb-buffer-pool-size=64M
max-connections=300
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
thread-handling=pool-of-threads
skip-name-resolve
binlog-format=ROW
default-storage-engine=InnoDB
innodb-autoinc-lock-mode=2
wsrep-on=ON
wsrep-provider=/usr/lib/galera/libgalera_smm.so
wsrep-cluster-name=fcgi-users
wsrep-node-name=node$n
wsrep-cluster-address=$cluster
wsrep-node-address=127.0.0.1
wsrep-node-incoming-address=127.0.0.1:$(galera_sql_port "$n")
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$(galera_gcomm_port "$n");ist.recv_addr=127.0.0.1:$((GALERA_PORT + n + 5));gcache.size=64M
wsrep-sst-method=$GALERA_SST
wsrep-sst-receive-address=127.0.0.1:$((GALERA_PORT + 9))
wsrep-slave-threads=2
[sst]
sst-syslog=-1
CNF
    setsid mariadbd --defaults-file="$dir/my.cnf" </dev/null >/dev/null 2>&1 &
    echo $! > "$RUN/galera-node$n.pid"
    for ((i = 0; i < 1200; i++)); do
        [ "$(galera_status_var "$n" wsrep_local_state_comment)" = Synced ] && return 0
        pid_alive "$RUN/galera-node$n.pid" || { tail -30 "$LOG/galera-node$n.log" >&2; die "galera node $n exited"; }
        sleep 0.1
    done
    die "galera node $n was not Synced within 120 s (see $LOG/galera-node$n.log)"
}

galera_node_stop() { stop_pid "$RUN/galera-node$1.pid" 60; }

galera_node_kill() {  # kill -9, as a crash
    local f=$RUN/galera-node$1.pid
    pid_alive "$f" || die "galera node $1 is not running"
    kill -KILL "$(cat "$f")"
    rm -f "$f"
}

# The node to bootstrap from: the one whose state says safe_to_bootstrap
# (the last to leave), else the highest seqno, else node 1.
galera_bootstrap_node() {
    local n best=1 seq bestseq=-2
    for n in 1 2 3; do
        local g=$GALERA_DIR/node$n/data/grastate.dat
        [ -f "$g" ] || continue
        grep -q '^safe_to_bootstrap: 1' "$g" && { echo "$n"; return; }
        seq=$(sed -n 's/^seqno: *//p' "$g")
        [ "${seq:--1}" -gt "$bestseq" ] && { bestseq=$seq; best=$n; }
    done
    echo "$best"
}

galera_db_up() {
    local n first running=0
    for n in 1 2 3; do pid_alive "$RUN/galera-node$n.pid" && running=$n; done
    if [ "$running" = 0 ]; then
        first=$(galera_bootstrap_node)
        galera_node_start "$first" new
    else
        first=$running
    fi
    local pw
    pw=$(cat "$(secret db_password)")
    galera_admin "$first" <<SQL
CREATE DATABASE IF NOT EXISTS fcgi_users CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'fcgi_users'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON fcgi_users.* TO 'fcgi_users'@'127.0.0.1';
SQL
    for n in 1 2 3; do galera_node_start "$n"; done
}

galera_app_start() {  # galera_app_start PIDNAME SOCKET NODES...
    local name=$1 sock=$2; shift 2
    pid_alive "$RUN/$name.pid" && return 0
    (app_env
     export FCGI_USERS_LISTEN=$sock FCGI_USERS_DB_SOCKET= FCGI_USERS_DB_HOST="$(galera_hosts "$@")"
     "$BUILD/fcgi-users" migrate >>"$LOG/$name.log" 2>&1 || { tail -5 "$LOG/$name.log" >&2; die "fcgi-users migrate failed"; }
     stale_socket_remove "$sock"
     umask 007
     setsid "$BUILD/fcgi-users" serve </dev/null >>"$LOG/$name.log" 2>&1 & echo $! > "$RUN/$name.pid")
    app_wait "$name" "$sock"
}

galera_up() {
    # The single-node stack of the same var folder (scripts/run) would keep its
    # fcgi-users and nginx, and the "cluster" would answer from one server.
    pid_alive "$RUN/mariadb.pid" &&
        die "the single-node stack runs under $VAR: stop it first (scripts/stop), or set another FCGI_USERS_VAR and FCGI_USERS_HTTP_PORT"
    smtp_start
    galera_db_up
    galera_app_start fcgi-users "$APP_SOCKET" 1 2 3
    galera_app_start fcgi-users-b "$APP_SOCKET_B" 2 3 1
    if ! pid_alive "$RUN/nginx.pid"; then
        make_dirs
        nginx_conf
        # One upstream, both hosts.
        sed -i "s|server unix:$APP_SOCKET;|server unix:$APP_SOCKET; server unix:$APP_SOCKET_B;|" "$NGINX_DIR/nginx.conf"
        nginx -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -t 2>"$LOG/nginx-test.log" || { cat "$LOG/nginx-test.log" >&2; die "nginx configuration test failed"; }
        nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" || die "nginx did not start (see $LOG/nginx-error.log)"
    fi
    wait_healthy 150 || die "http://127.0.0.1:$HTTP_PORT/healthz did not answer 200 (see $LOG)"
}

galera_down() {
    nginx_stop
    stop_pid "$RUN/fcgi-users-b.pid" 30
    app_stop
    # The last node to stop is the one a later `galera up` bootstraps from.
    local n
    for n in 3 2 1; do galera_node_stop "$n"; done
    smtp_stop
    web_cleanup
}

galera_status() {
    local n state
    for n in 1 2 3; do
        if pid_alive "$RUN/galera-node$n.pid"; then
            state="$(galera_status_var "$n" wsrep_local_state_comment) size=$(galera_status_var "$n" wsrep_cluster_size)"
        else
            state=down
        fi
        printf 'node%s 127.0.0.1:%s %s\n' "$n" "$(galera_sql_port "$n")" "$state"
    done
    for n in fcgi-users fcgi-users-b nginx; do
        pid_alive "$RUN/$n.pid" && printf '%s up\n' "$n" || printf '%s down\n' "$n"
    done
}
