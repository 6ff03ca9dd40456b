// systemd's socket-passing protocol read by hand (no libsystemd, see
// sd_listen_fds(3)), and a self-pipe for the stop wake-up: writing to a pipe
// is async-signal-safe, and waiting on it beside the listening socket lets
// the accepting worker leave without shutdown(2), which would stop the
// socket for systemd (or any holder) and reset the connections queued in it
// for the next process.
#include "fcgi/listen_socket.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <string>

#include "config/config.h"

namespace fu::listen {
namespace {

int g_wake_pipe[2] = {-1, -1};

// Made before main() runs any thread; never closed (it lives as the process).
bool make_wake_pipe() {
    return pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) == 0;
}
const bool g_pipe_ready = make_wake_pipe();

}  // namespace

int systemd_socket() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds) return -1;
    // Variables naming another process were inherited, not meant for us.
    if (std::strtol(pid, nullptr, 10) != static_cast<long>(getpid())) return -1;
    std::string count = fds;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (count != "1")
        throw ConfigError("listen", "systemd passed LISTEN_FDS=" + count +
                                        " sockets; fcgi-users serves exactly one "
                                        "(one ListenStream=)");
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (getsockopt(kSystemdFirstFd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        throw ConfigError("listen",
                          "descriptor 3 from systemd (LISTEN_FDS) is not a listening socket");
    fcntl(kSystemdFirstFd, F_SETFD, FD_CLOEXEC);
    return kSystemdFirstFd;
}

void wake() {
    char byte = 1;
    // Never read back: once written, the pipe stays readable for every worker.
    ssize_t ignored = ::write(g_wake_pipe[1], &byte, 1);
    (void)ignored;
}

int wake_fd() {
    return g_pipe_ready ? g_wake_pipe[0] : -1;
}

bool refuse_new_handshakes(int fd) {
    // A socket filter on TCP reads from the TCP header: byte 13 holds the
    // flags. A segment with SYN set and ACK clear starts a handshake.
    constexpr unsigned kFlags = 13;
    constexpr unsigned kSyn = 0x02;
    constexpr unsigned kAck = 0x10;
    sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kFlags),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, kSyn | kAck),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kSyn, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),            // drop
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // keep whole
    };
    sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) == 0;
}

}  // namespace fu::listen
