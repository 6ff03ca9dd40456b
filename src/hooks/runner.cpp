// fork/exec of one hook command, with its output read through pipes and its
// process group killed at the time-out.
#include "hooks/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace fu::hooks {
namespace {

constexpr size_t kKeepBytes = 64 * 1024;

void keep_tail(std::string& s, const char* data, size_t n) {
    s.append(data, n);
    if (s.size() > kKeepBytes) s.erase(0, s.size() - kKeepBytes);
}

// Owns a descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace

Outcome run(const Command& cmd) {
    Outcome out;
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return out;
    Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return out;
    Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
    Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));

    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls.
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
    const char* workdir = cmd.workdir.c_str();

    pid_t pid = fork();
    if (pid < 0) return out;
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGHUP, SIG_DFL);  // the service ignores it (src/fcgi/server.cpp); a hook must not
        dup2(devnull.get(), 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close_range(3, ~0U, 0);
        if (chdir(workdir) != 0) {
            static const char msg[] = "fcgi-users: cannot enter the hook's working directory\n";
            (void)!write(2, msg, sizeof msg - 1);
            _exit(126);
        }
        execve("/bin/sh", argv.data(), envp.data());
        static const char msg[] = "fcgi-users: cannot run /bin/sh\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(127);
    }
    setpgid(pid, pid);  // also here, so kill(-pid) works whichever runs first
    out_w.reset();
    err_w.reset();

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cmd.timeout_seconds);
    bool out_open = true, err_open = true;
    char buf[4096];
    while (out_open || err_open) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            out.timed_out = true;
            break;
        }
        pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0}, {err_open ? err_r.get() : -1, POLLIN, 0}};
        int n = poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                keep_tail(i == 0 ? out.stdout_text : out.stderr_text, buf, static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                (i == 0 ? out_open : err_open) = false;
            }
        }
    }
    if (out.timed_out) {
        kill(-pid, SIGKILL);
    }
    int status = 0;
    // The pipes closed (or time ran out); the shell may still be running a
    // background child that closed its output: wait until the deadline.
    while (true) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) return out;
        if (std::chrono::steady_clock::now() >= deadline && !out.timed_out) {
            out.timed_out = true;
            kill(-pid, SIGKILL);
        }
        usleep(10000);
    }
    if (out.timed_out) kill(-pid, SIGKILL);  // whatever is left of the group
    if (WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) out.exit_status = 128 + WTERMSIG(status);
    return out;
}

}  // namespace fu::hooks
