// The socket fcgi-users accepts on when it did not open one itself: systemd's
// (LISTEN_FDS / LISTEN_PID, descriptor 3) or the one on descriptor 0
// (spawn-fcgi, mod_fcgid); and the wake-up that stops the accepting worker
// without shutting that shared socket down for its holder.
#pragma once

namespace fu::listen {

// The first descriptor systemd passes (sd_listen_fds(3)'s SD_LISTEN_FDS_START).
constexpr int kSystemdFirstFd = 3;

// When LISTEN_PID names this process and LISTEN_FDS is 1: marks descriptor 3
// close-on-exec (hooks must not inherit it), removes LISTEN_PID, LISTEN_FDS
// and LISTEN_FDNAMES from the environment (hooks must not see them), and
// returns 3. Returns -1 when no socket was passed this way. Throws
// ConfigError naming `listen` when LISTEN_FDS is not 1 or descriptor 3 is not
// a listening stream socket. Call once, before any thread starts.
int systemd_socket();

// Makes wait_for_connection() return false from now on, in every thread.
// Async-signal-safe: the stop signal handler calls it.
void wake();

// Blocks until `fd` has a connection to accept (true) or wake() was called
// (false). The worker holding the accept lock calls it before accepting, so
// a stop never needs shutdown(2) on a socket that outlives this process.
bool wait_for_connection(int fd);

}  // namespace fu::listen
