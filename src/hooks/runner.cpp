// posix_spawn of one hook command, with its output read through pipes, its
// exit awaited on a pidfd, and its process group killed at the time-out.
#include "hooks/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "util/fd.h"
#include "util/spawn_setup.h"

namespace fu::hooks {
namespace {

// Writes a command's input. A command that exits (or closes its input) before
// reading it all gets EPIPE here, never SIGPIPE, whatever the process's
// disposition at that moment (the dispatcher delivers before the server has
// set SIGPIPE ignored): the signal is blocked in this thread for the write,
// and the one the write raised is taken back before it is unblocked.
void write_input(int fd, std::string_view text) {
    sigset_t pipe_only, before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    if (done < text.size()) {
        timespec now{};
        while (sigtimedwait(&pipe_only, nullptr, &now) == SIGPIPE) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

constexpr size_t kKeepBytes = 64 * 1024;

void keep_tail(std::string& s, const char* data, size_t n) {
    s.append(data, n);
    if (s.size() > kKeepBytes) s.erase(0, s.size() - kKeepBytes);
}

}  // namespace

Outcome run(const Command& cmd) {
    Outcome out;
    auto not_started = [&out](const char* what, int error) {
        out.not_started = true;
        out.start_error = std::string(what) + ": " + std::strerror(error);
        return out;
    };
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) return not_started("pipe2", errno);
    Fd in_r(in_pipe[0]), in_w(in_pipe[1]);
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return not_started("pipe2", errno);
    Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return not_started("pipe2", errno);
    Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

    std::vector<std::string> argv_s = {"/bin/sh", "-c", cmd.shell_text, "fcgi-users"};
    argv_s.insert(argv_s.end(), cmd.args.begin(), cmd.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (const auto& [k, v] : cmd.env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    // Its own process group (killed whole at the time-out), no blocked
    // signals, SIGPIPE and SIGHUP as default, and only descriptors 0-2: every other one
    // of this process (sockets, database connections) closed in the child.
    SpawnSetup setup;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGHUP);  // the service ignores it (src/fcgi/server.cpp); a hook must not
    posix_spawnattr_setflags(
        &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);
    posix_spawn_file_actions_adddup2(&setup.actions, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&setup.actions, err_w.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    posix_spawn_file_actions_addchdir_np(&setup.actions, cmd.workdir.c_str());
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv.data(), envp.data());
    if (rc == EAGAIN || rc == ENOMEM || rc == EMFILE || rc == ENFILE)
        return not_started("posix_spawn", rc);
    if (rc != 0) {
        // As a shell says of a command it cannot run: 126, and why.
        out.exit_status = 126;
        out.stderr_text =
            std::string("fcgi-users: cannot start /bin/sh in the hook's working directory '") +
            cmd.workdir + "': " + std::strerror(rc) + "\n";
        return out;
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    // Whatever the command reads of it; closing it gives the command its end
    // of file.
    if (!cmd.stdin_text.empty()) write_input(in_w.get(), cmd.stdin_text);
    in_w.reset();

    // The child's exit is a readable descriptor: one poll waits for output,
    // exit, a cancel and the deadline together (no polling loop).
    Fd exited(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cmd.timeout_seconds);
    bool out_open = true, err_open = true, running = exited.get() >= 0;
    char buf[4096];
    // Done when both pipes closed and the shell exited. A background process
    // the command left holding its output (`mailer &`) is read until it lets
    // go (so its writes never meet a closed pipe), at most until the
    // time-out, when the whole group is killed; but a shell that exited in
    // time is no time-out: the command counts by its exit status (a time-out
    // would run it again: a second mail).
    bool exited_in_time = false;
    while (out_open || err_open || running) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            (exited_in_time ? out.left_running : out.timed_out) = true;
            break;
        }
        pollfd fds[4] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                         {err_open ? err_r.get() : -1, POLLIN, 0},
                         {running ? exited.get() : -1, POLLIN, 0},
                         {cmd.cancel_fd, POLLIN, 0}};
        int n = poll(fds, 4, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                keep_tail(i == 0 ? out.stdout_text : out.stderr_text, buf,
                          static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                (i == 0 ? out_open : err_open) = false;
            }
        }
        if (fds[2].revents & POLLIN) {
            running = false;
            exited_in_time = true;
        }
        if (fds[3].revents & (POLLIN | POLLHUP)) {
            // A shell that already exited has its outcome: a stop now kills
            // what it left (below), and the command counts by its exit
            // status, not as cancelled (which would run it again).
            (exited_in_time ? out.left_running : out.cancelled) = true;
            break;
        }
    }
    // The whole group, background children included.
    if (out.timed_out || out.cancelled || out.left_running) kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return out;
    }
    if (WIFEXITED(status))
        out.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        out.exit_status = 128 + WTERMSIG(status);
    return out;
}

}  // namespace fu::hooks
