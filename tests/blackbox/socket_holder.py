"""Holds a FastCGI unix socket as systemd's socket unit does, and runs a
command on it again each time it exits: the command gets the socket as
descriptor 3 with LISTEN_FDS=1 and LISTEN_PID set to its own pid, or with
--stdin as descriptor 0, as spawn-fcgi passes it.
    socket_holder.py [--stdin] SOCKET PIDFILE COMMAND...
Writes the running child's pid to PIDFILE after each start. SIGTERM ends the
child and the holder."""
import os
import signal
import socket
import subprocess
import sys
import time

args = sys.argv[1:]
on_stdin = args[:1] == ["--stdin"]
if on_stdin:
    args = args[1:]
path, pid_file, command = args[0], args[1], args[2:]
if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
os.chmod(path, 0o666)
listener.listen(1024)
if listener.fileno() != 3:
    os.dup2(listener.fileno(), 3)
os.set_inheritable(3, True)

stopping = False
child = None


def on_term(_signo, _frame):
    global stopping
    stopping = True
    if child and child.poll() is None:
        child.terminate()


signal.signal(signal.SIGTERM, on_term)
# `exec` keeps the shell's pid, so $$ is the program's pid, as LISTEN_PID must be.
wrapper = ["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "holder"] + command
while not stopping:
    if on_stdin:
        child = subprocess.Popen(command, stdin=3)
    else:
        child = subprocess.Popen(wrapper, pass_fds=(3,), stdin=subprocess.DEVNULL)
    with open(pid_file + ".tmp", "w") as f:
        f.write(str(child.pid))
    os.replace(pid_file + ".tmp", pid_file)
    child.wait()
    if not stopping and child.returncode != 0:
        time.sleep(0.5)  # a failing program is not restarted in a tight loop
