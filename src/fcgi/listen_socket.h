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

// Makes wake_fd() readable from now on, for every thread that waits on it.
// Async-signal-safe: the stop signal handler calls it.
void wake();

// A descriptor that becomes readable once wake() was called, and stays so;
// -1 if none could be made (then a stop waits for the next connection). The
// worker holding the accept lock waits on it beside the listening socket, so
// a stop never needs shutdown(2) on a socket that outlives this process.
int wake_fd();

// For a TCP listening socket this process will close on a stop: from now on
// a new client's SYN is dropped, so no new handshake begins (the client is
// refused once the socket closes), while every other packet still counts: a
// handshake begun before the call completes (its last ACK, or the data sent
// with it, arrives after) and joins the queue to be taken in. Dropping every
// packet instead strands such a client, connected on its side, until the
// socket closes and resets it. False if the filter could not be attached.
bool refuse_new_handshakes(int fd);

}  // namespace fu::listen
