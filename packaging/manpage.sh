#!/bin/sh
# Writes fcgi-users(8) to stdout, from the program itself: the commands from
# `fcgi-users --help` and every configuration key, its comment and default
# from `fcgi-users default-config` (the key table of src/config/), so the
# manual cannot drift from the program.   usage: manpage.sh PROGRAM VERSION
set -eu
prog=$1
version=$2

# roff escapes: backslashes, and a leading dot or quote that roff would read as a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\&&/" -e 's/-/\\-/g'; }

cat <<HEAD
.TH FCGI\\-USERS 8 "" "fcgi\\-users $version" "System Administration"
.SH NAME
fcgi\\-users \\- user management (register, log in, reset, verify, administer) over FastCGI
.SH SYNOPSIS
.B fcgi\\-users
[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fICOMMAND\\fR]
.SH DESCRIPTION
fcgi\\-users serves FastAPI Users' HTTP API as a FastCGI application behind
nginx or Apache, with its users in MariaDB and shell commands as event hooks.
It also answers nginx auth_request and Apache mod_authnz_fcgi, to protect any site.
.SH COMMANDS
.nf
HEAD
"$prog" --help | sed 1d | esc
cat <<'MID'
.fi
.SH CONFIGURATION
The file given by \fB\-\-config\fR (or \fB$FCGI_USERS_CONFIG\fR) holds
\fIkey\fR = \fIvalue\fR lines; no file is needed when the environment sets
the required keys. Every key can be set in the environment as
FCGI_USERS_\fIKEY\fR (upper case, dots and dashes as underscores), which wins
over the file. A secret key may instead name a file: \fIkey\fR_file = /path,
or FCGI_USERS_\fIKEY\fR_FILE. An unknown key or a bad value is reported with
the key's name, and the program exits with status 2.
MID
"$prog" default-config | awk '
    function e(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); if (s ~ /^[.\047]/) s = "\\&" s; return s }
    BEGIN { header = 1 }
    header { if ($0 == "") header = 0; next }
    /^$/ { next }
    doc == "" { doc = substr($0, 3); next }
    {
        line = substr($0, 3)
        eq = index(line, " =")
        key = substr(line, 1, eq - 1)
        def = substr(line, eq + 3)
        env = "FCGI_USERS_" toupper(key)
        gsub(/[.-]/, "_", env)
        print ".TP"
        print ".B " e(key)
        print e(doc)
        print ".br"
        print "Default: " (def == "" ? "(empty)" : e(def)) ". Environment: " e(env) "."
        doc = ""
    }'
cat <<'TAIL'
.SH SYSTEMD
fcgi\-users.socket holds /run/fcgi\-users/fcgi\-users.sock and starts
fcgi\-users.service, which gets the socket as LISTEN_FDS (descriptor 3) when
\fBlisten\fR is empty; the socket on descriptor 0 (spawn\-fcgi, mod_fcgid)
is accepted as well. The service reports readiness with sd_notify (Type=notify).
SIGTERM stops accepting, answers the requests in flight and exits 0; a socket
passed by systemd stays open for the next start, so a restart refuses no
request. SIGHUP is ignored: the configuration is read at start, so restart to
change it. Logs go to stderr; when stderr is the journal, each line starts
with its syslog priority (<3> error, <4> warn, <6> info, <7> debug).
.SH FILES
.TP
/etc/fcgi\-users/fcgi\-users.conf
the configuration (the package\(aqs settings, then every key, commented out)
.TP
/etc/fcgi\-users/*.secret
the token keys made on first install (mode 0600, owner fcgi\-users)
.TP
/usr/share/fcgi\-users/sql
the migrations \fBfcgi\-users migrate\fR applies, and admin.sql
.TP
/usr/share/fcgi\-users/nginx, /usr/share/fcgi\-users/apache, /usr/share/fcgi\-users/hooks
configuration to include in nginx or Apache, and example hooks
.SH EXIT STATUS
0 on success, 1 when a command fails (database, existing user), 2 for a usage
or configuration error.
.SH SEE ALSO
.BR systemd.socket (5),
.BR nginx (8),
.BR apache2 (8)
TAIL
