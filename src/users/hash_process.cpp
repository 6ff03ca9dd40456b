// The hash helpers: one child process per hash slot, a SOCK_SEQPACKET pair
// each (one request, one reply; a message is never split or merged).
//
// A request: op ('h' hash, 'v' verify), opslimit and memlimit (8 bytes each),
// the password's length (4 bytes), the password, then (verify) the stored
// hash. A reply: 'h' and the PHC string (empty: no memory), 'v' and two
// bytes (ok, needs rehash), or 'x' (cannot: the server hashes on its own).
#include "users/hash_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "users/hash_memory.h"
#include "util/log.h"
#include "util/spawn_setup.h"

extern char** environ;

namespace fu {
namespace {

constexpr int kChannelFd = 3;  // the helper's end of its channel
// The largest request sent (within a socket's default send buffer): twice
// the default max_body_bytes. A longer password is hashed in the server.
constexpr size_t kMaxRequest = 128 * 1024;
constexpr size_t kMaxReply = 512;
// A hash takes tens of milliseconds. A helper that has not answered after
// this long is stuck, or starved by the machine's load (it yields to every
// other process): it is replaced, and the request hashed in the server, well
// before the web server gives up on the request.
constexpr int kReplyTimeoutMs = 10'000;
constexpr auto kRestartInterval = std::chrono::seconds(1);

void put_u64(std::string& s, unsigned long long v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_u32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

unsigned long long get_le(const unsigned char* p, int bytes) {
    unsigned long long v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string request(char op, std::string_view password, std::string_view hashed,
                    unsigned long long opslimit, size_t memlimit) {
    std::string r;
    r.reserve(21 + password.size() + hashed.size());
    r.push_back(op);
    put_u64(r, opslimit);
    put_u64(r, memlimit);
    put_u32(r, static_cast<uint32_t>(password.size()));
    r.append(password);
    r.append(hashed);
    return r;
}

// The helper's answer to one request of `n` bytes.
std::string answer(const unsigned char* m, size_t n) {
    if (n < 21) return "x";
    unsigned long long ops = get_le(m + 1, 8), mem = get_le(m + 9, 8);
    size_t pw_len = static_cast<size_t>(get_le(m + 17, 4));
    if (pw_len > n - 21) return "x";
    std::string_view password(reinterpret_cast<const char*>(m + 21), pw_len);
    std::string out(1, static_cast<char>(m[0]));
    if (m[0] == 'h') {
        out += argon2id_hash(password, ops, static_cast<size_t>(mem));
        return out;
    }
    if (m[0] != 'v') return "x";
    std::string hashed(reinterpret_cast<const char*>(m + 21 + pw_len), n - 21 - pw_len);
    auto v = verify_password(password, hashed, ops, static_cast<size_t>(mem));
    out.push_back(static_cast<char>(v.ok ? 1 : 0));
    out.push_back(static_cast<char>(v.needs_rehash ? 1 : 0));
    return out;
}

// The helper's session's nice value (its autogroup, which the scheduler
// weighs against other sessions), where the kernel groups by session. The
// kernel takes one such change per tenth of a second on the whole machine
// from an unprivileged process, so helpers started together take turns:
// a refused one tries again between requests until it is taken.
class SessionNice {
  public:
    explicit SessionNice(long nice)
        : fd_(::open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC)), text_(std::to_string(nice)) {
        attempt();
    }

    bool settled() const { return fd_.get() < 0; }

    void attempt() {
        if (fd_.get() < 0) return;
        if (::write(fd_.get(), text_.data(), text_.size()) >= 0) {
            fd_.reset();
            return;
        }
        if (errno != EAGAIN) {
            log::warn(std::string("hash helper: cannot set its session's nice value: ") +
                      std::strerror(errno));
            fd_.reset();
        } else if (++refusals_ == 100) {
            log::warn("hash helper: its session's nice value refused for 10 s; still trying");
        }
    }

  private:
    Fd fd_;
    std::string text_;
    int refusals_ = 0;
};

}  // namespace

namespace {

// `nice` above the calling thread's nice value, at most 19.
long nicer_than_this_thread(long nice) {
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    return std::min(19L, (errno != 0 ? 0 : now) + nice);
}

}  // namespace

HashProcesses::HashProcesses(std::string program, long count, long nice, long keep_ms)
    : program_(std::move(program)),
      nice_(nicer_than_this_thread(nice)),
      keep_ms_(keep_ms),
      channels_(static_cast<size_t>(count)) {
    for (size_t i = 0; i < channels_.size(); ++i) {
        free_.push_back(i);
        if (!start(channels_[i]))
            log::warn("hash helper " + program_ +
                      " could not be started; hashing in the server until it can");
    }
}

HashProcesses::~HashProcesses() {
    for (auto& c : channels_) c.fd.reset();  // each helper reads its end of file and exits
    for (auto& c : channels_) {
        if (c.pid < 0) continue;
        // No request is in flight now; a helper still hashing finishes first.
        for (int waited = 0; waited < 200; ++waited) {
            if (waitpid(c.pid, nullptr, WNOHANG) != 0) {
                c.pid = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (c.pid >= 0) end(c);
    }
}

bool HashProcesses::start(Channel& c) {
    auto now = std::chrono::steady_clock::now();
    if (c.last_start != std::chrono::steady_clock::time_point{} &&
        now - c.last_start < kRestartInterval)
        return false;
    c.last_start = now;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return false;
    Fd ours(sv[0]);
    // Above the helper's descriptor, so that dup2 always makes a new one
    // (dup2 of a descriptor onto itself would keep close-on-exec).
    Fd theirs(fcntl(sv[1], F_DUPFD_CLOEXEC, kChannelFd + 1));
    ::close(sv[1]);
    if (theirs.get() < 0) return false;

    std::string nice_text = std::to_string(nice_), keep_text = std::to_string(keep_ms_);
    char* argv[] = {const_cast<char*>("fcgi-users"), const_cast<char*>("hash-helper"),
                    nice_text.data(), keep_text.data(), nullptr};
    // The environment without fcgi-users' own settings (secrets among them):
    // the helper needs none of them.
    std::vector<char*> envp;
    for (char** e = environ; e && *e; ++e)
        if (std::strncmp(*e, "FCGI_USERS_", 11) != 0) envp.push_back(*e);
    envp.push_back(nullptr);

    SpawnSetup setup;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT}) sigaddset(&defaults, s);
    posix_spawnattr_setflags(&setup.attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);
    posix_spawn_file_actions_adddup2(&setup.actions, theirs.get(), kChannelFd);
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, kChannelFd + 1);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, program_.c_str(), &setup.actions, &setup.attr, argv, envp.data());
    if (rc != 0) {
        log::warn("hash helper: cannot start " + program_ + ": " + std::strerror(rc));
        return false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    c.fd.reset(ours.release());
    c.pid = pid;
    return true;
}

void HashProcesses::end(Channel& c) {
    pid_t pid;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pid = c.pid;
        c.pid = -1;
    }
    c.fd.reset();
    if (pid < 0) return;
    ::kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

std::optional<std::string> HashProcesses::ask(const std::string& req) {
    auto too_long = [&req] {
        // The request: op, opslimit, memlimit, the password's length, the password, the hash.
        const auto* m = reinterpret_cast<const unsigned char*>(req.data());
        const unsigned long long password = req.size() >= 21 ? get_le(m + 17, 4) : 0;
        log::warn("hash helpers: a password of " + std::to_string(password) +
                  " bytes is hashed in the server (with its hash, longer than a channel takes)");
        return std::nullopt;
    };
    if (req.size() > kMaxRequest) return too_long();
    size_t i;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.empty()) return std::nullopt;
        i = free_.front();
        free_.pop_front();
    }
    Channel& c = channels_[i];  // this thread's alone until it is put back
    // A helper that ended since its last request (reaped now, not left a zombie).
    if (c.pid > 0 && waitpid(c.pid, nullptr, WNOHANG) == c.pid) {
        log::warn("hash helper " + std::to_string(c.pid) + " had ended; starting another");
        {
            std::lock_guard<std::mutex> lock(mutex_);
            c.pid = -1;
        }
        c.fd.reset();
    }
    std::optional<std::string> reply;
    if (c.fd.get() >= 0 || start(c)) {
        ssize_t sent = ::send(c.fd.get(), req.data(), req.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EMSGSIZE) {  // too large for the channel: not the helper's fault
            std::lock_guard<std::mutex> lock(mutex_);
            free_.push_back(i);
            return too_long();
        }
        if (sent == static_cast<ssize_t>(req.size())) {
            pollfd p{c.fd.get(), POLLIN, 0};
            int ready;
            while ((ready = poll(&p, 1, kReplyTimeoutMs)) < 0 && errno == EINTR) {
            }
            char buf[kMaxReply];
            ssize_t n = ready == 1 ? ::recv(c.fd.get(), buf, sizeof buf, 0) : -1;
            if (n > 0) reply.emplace(buf, static_cast<size_t>(n));
        }
        if (!reply) {
            log::warn("hash helper " + std::to_string(c.pid) +
                      " did not answer (it ended, or was stuck); hashing in the server, and "
                      "starting another");
            end(c);
            (void)start(c);
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(i);
    return reply;
}

std::optional<std::string> HashProcesses::hash(std::string_view password,
                                               unsigned long long opslimit, size_t memlimit) {
    std::string req = request('h', password, {}, opslimit, memlimit);
    auto reply = ask(req);
    sodium_memzero(req.data(), req.size());
    if (!reply || reply->empty() || (*reply)[0] != 'h') return std::nullopt;
    return reply->substr(1);
}

std::optional<PasswordHasher::Verdict> HashProcesses::verify(std::string_view password,
                                                             const std::string& hashed,
                                                             unsigned long long opslimit,
                                                             size_t memlimit) {
    std::string req = request('v', password, hashed, opslimit, memlimit);
    auto reply = ask(req);
    sodium_memzero(req.data(), req.size());
    if (!reply || reply->size() != 3 || (*reply)[0] != 'v') return std::nullopt;
    return PasswordHasher::Verdict{(*reply)[1] == 1, (*reply)[2] == 1};
}

std::vector<pid_t> HashProcesses::pids() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<pid_t> out;
    for (const auto& c : channels_) out.push_back(c.pid);
    return out;
}

HelperIdleStep helper_idle_step(bool settled, bool kept, long left_ms) {
    // The session's nice is tried again every tenth of a second until it is
    // settled; kept memory is given back once keep_ms passed without a request.
    if (kept && left_ms <= 0) return {true, -1};
    if (kept) return {false, settled ? left_ms : std::min(left_ms, 100L)};
    return {false, settled ? -1 : 100L};
}

int run_hash_helper(long nice, long keep_ms) {
    prctl(PR_SET_NAME, "fcgi-users-hash");  // as ps and top show it
    hash_memory::enable();
    // Started by a hash thread (a replacement), it already runs at `nice`.
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && now < nice) (void)setpriority(PRIO_PROCESS, 0, static_cast<int>(nice));
    SessionNice session(nice);
    // One hash after another: the hash memory stays mapped between them,
    // given back after keep_ms without a request.
    hash_memory::keep_for_this_thread();
    std::vector<unsigned char> buf(kMaxRequest);
    auto last_request = std::chrono::steady_clock::now();
    for (;;) {
        long left = keep_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - last_request)
                                  .count();
        HelperIdleStep step =
            helper_idle_step(session.settled(), hash_memory::kept_by_this_thread() != 0, left);
        if (step.give_back) {
            hash_memory::release_this_thread();
            continue;
        }
        if (step.wait_ms >= 0) {
            pollfd p{kChannelFd, POLLIN, 0};
            int ready = poll(&p, 1, static_cast<int>(step.wait_ms));
            if (ready == 0 && !session.settled()) session.attempt();
            if (ready <= 0) continue;
        }
        // MSG_TRUNC: the whole request's length, even past the buffer.
        ssize_t n = ::recv(kChannelFd, buf.data(), buf.size(), MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        last_request = std::chrono::steady_clock::now();
        if (n <= 0) return 0;  // the server closed the channel: it ended
        size_t got = std::min(static_cast<size_t>(n), buf.size());
        std::string reply = static_cast<size_t>(n) > buf.size() ? "x" : answer(buf.data(), got);
        sodium_memzero(buf.data(), got);
        if (::send(kChannelFd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) return 0;
    }
}

}  // namespace fu
