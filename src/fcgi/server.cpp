// The accept loop: workers build a Request, run cheap handlers themselves and
// hand password-hashing ones to the hash threads; one exit writes, counts and
// logs every answer. Also the signal handling that makes SIGTERM graceful.
#include "fcgi/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fcgi/connections.h"
#include "fcgi/listen_socket.h"
#include "fcgi/notify.h"
#include "fcgi/read_deadline.h"
#include "fcgi/serve_slots.h"
#include "handlers/check.h"
#include "metrics/metrics.h"
#include "store/read_batch.h"
#include "store/stores.h"
#include "util/fd.h"
#include "util/log.h"
#include "wrap/fcgi.h"

namespace fu {
namespace {

// How long a worker serves before a standing-by one takes a slot in its
// stead (ServeSlots).
constexpr std::chrono::milliseconds kServePatience{2};

std::atomic<bool> g_stopping{false};
std::atomic<bool> g_failed{false};  // a worker stopped the server on an error

// Only async-signal-safe calls: set the flag and wake the workers waiting for
// a connection (listen::wake). The listening socket stays open until exit:
// shutdown(2) would refuse new connections and reset the ones queued in it,
// which nginx answers with 502.
extern "C" void on_stop_signal(int) {
    g_stopping.store(true);
    listen::wake();
}

// A socket this process opened itself (`listen` set) dies with it, so on a
// stop the workers first take in what is queued. New connections are turned
// away first, before anything is sent on them: a unix socket's path is
// unlinked; a TCP socket gets a filter that drops new clients' SYNs, so no
// new handshake begins (the client is refused once the socket closes) while
// those begun before complete (listen::refuse_new_handshakes). Then
// connections (and requests on kept ones) are taken in while one arrives
// within 100 ms, for at most 2 s.
// An inherited socket outlives this process: what is queued stays queued for
// the next one.
class OwnSocket {
  public:
    void open(const Config& config, int fd) {
        fd_ = config.listen.empty() ? -1 : fd;
        if (fd_ < 0) return;
        if (config.listen.find('/') == std::string::npos) {
            tcp_ = true;
            return;
        }
        path_ = config.listen;
        struct stat st {};
        if (stat(path_.c_str(), &st) == 0) inode_ = st.st_ino;
    }
    // Under the accept lock, once stopping: how long to wait for the next
    // request to take in before this worker stops (0: stop now). The first
    // call turns new connections away and, for a socket this process did not
    // open, stops accepting (what is queued there stays for the next process).
    // Requests already sent on kept connections are taken in either way (they
    // cannot wait for another process), and those connections then close.
    int drain_ms(fcgi::Connections& connections) {
        auto now = std::chrono::steady_clock::now();
        if (!draining_) {
            draining_ = true;
            until_ = now + std::chrono::seconds(2);
            unlink_path();
            if (tcp_ && !listen::refuse_new_handshakes(fd_))
                log::warn(std::string("stop: new connections still reach the TCP socket: ") +
                          std::strerror(errno));
            connections.stop(fd_ >= 0);
        }
        if (quiet_ || now >= until_) return 0;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until_ - now).count();
        return static_cast<int>(std::clamp<long long>(left, 1, 100));
    }
    // Nothing came within a wait drain_ms() gave: every worker stops now
    // (not each after its own 100 ms).
    void drained() { quiet_ = true; }
    // Removes the socket's path unless another process made a new one there.
    void unlink_path() {
        struct stat st {};
        if (!path_.empty() && stat(path_.c_str(), &st) == 0 && st.st_ino == inode_ &&
            S_ISSOCK(st.st_mode))
            unlink(path_.c_str());
        path_.clear();
    }

  private:
    int fd_ = -1;
    bool tcp_ = false;
    std::string path_;
    ino_t inode_ = 0;
    bool draining_ = false;
    bool quiet_ = false;
    std::chrono::steady_clock::time_point until_;
};
OwnSocket g_own_socket;

// Errors that say the listening socket itself is unusable: retrying cannot
// help, so the server stops with a failure status (a supervisor restarts it).
// Every other accept error (EMFILE, ENFILE, ENOMEM, ENOBUFS, ECONNABORTED,
// EPROTO, ...) is about one connection or a passing shortage.
bool accept_error_is_fatal(int err) {
    return err == EBADF || err == EINVAL || err == ENOTSOCK || err == EOPNOTSUPP || err == EFAULT;
}

// What a worker does after an accept error: wait, longer each time in a row
// (1 ms doubling to 256 ms), so that a shortage of descriptors is waited out
// without spinning, while the requests in flight finish and free some. One
// log line per second at most per error across all workers, with the count since.
class AcceptBackoff {
  public:
    void failed(int err, Metrics& metrics) {
        metrics.count_accept_error(err);
        log::warn_limited("accept " + std::to_string(err),
                          std::string("accept failed: ") + std::strerror(err) + "; retrying");
        std::this_thread::sleep_for(std::chrono::milliseconds(1L << std::min(streak_, 8)));
        ++streak_;
    }
    void succeeded() { streak_ = 0; }

  private:
    int streak_ = 0;  // this worker's errors in a row
};

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, nullptr);
    sigaction(SIGHUP, &ign, nullptr);  // configuration is read at start only: restart to change it
}

http::Pairs read_params(FCGX_Request* r) {
    http::Pairs out;
    size_t count = 0;
    for (char** e = r->envp; e && *e; ++e) ++count;
    out.reserve(count);
    for (char** e = r->envp; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (!eq) continue;
        out.emplace_back(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
    }
    return out;
}

using Clock = std::chrono::steady_clock;

enum class BodyRead { ok, too_large, short_body, too_slow };

// On a kept connection the web server sends its next request after this
// one's answer, on the same stream: this request's input must have been read
// to its end record, or what is left of it would be read as the start of the
// next (a body's bytes taken for records). Reads what is left of the body
// (nginx sends no more than Content-Length) and the end record; false (the
// connection is then closed after the answer) when more than a little is left.
bool read_to_end(FCGX_Request* r) {
    char sink[4096];
    size_t left_over = 0;
    for (int n; (n = FCGX_GetStr(sink, sizeof sink, r->in)) > 0;) {
        left_over += static_cast<size_t>(n);
        if (left_over > 65536) return false;
    }
    return FCGX_HasSeenEOF(r->in) == EOF && FCGX_GetError(r->in) == 0;
}

// CGI rules: no CONTENT_LENGTH, no body (an authorizer gets none either).
// The whole body (at most max_body_bytes) must arrive within
// request_body_timeout (deadline slot `slot`); on a kept connection the rest
// of the input too, and a connection whose input was not read to its end is
// not kept.
BodyRead read_body(FCGX_Request* r, http::Request& req, const Config& config,
                   ReadDeadlines& deadlines, size_t slot) {
    // The AUTHORIZER role has no input to read (and Apache keeps no connection).
    if (req.role == "AUTHORIZER") r->keepConnection = 0;
    if (req.content_length > config.max_body_bytes) {
        r->keepConnection = 0;
        return BodyRead::too_large;
    }
    bool keep = r->keepConnection;
    if (req.content_length <= 0 && !keep) return BodyRead::ok;
    size_t want = static_cast<size_t>(std::max<long long>(req.content_length, 0));
    req.body.resize(want);
    size_t got = 0;
    deadlines.arm(slot, r->ipcFd, Clock::now() + std::chrono::seconds(config.request_body_timeout));
    while (got < want) {
        int n = FCGX_GetStr(req.body.data() + got,
                            static_cast<int>(std::min<size_t>(want - got, 1 << 20)), r->in);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    if (keep && (got < want || !read_to_end(r))) r->keepConnection = 0;
    bool late = deadlines.disarm(slot);
    if (late) r->keepConnection = 0;  // its reading side is shut down
    req.body.resize(got);
    if (got == want) return BodyRead::ok;
    return late ? BodyRead::too_slow : BodyRead::short_body;
}

void write_all(FCGX_Request* r, const std::string& data) {
    FCGX_PutStr(data.data(), static_cast<int>(data.size()), r->out);
}

// Writes the answer, finishes the request, counts it and logs its one access line.
void respond(FCGX_Request* r, const Deps& deps, size_t shard, size_t route,
             const http::Request& req, const http::Response& res, Clock::time_point start) {
    const Config& config = deps.config;
    std::string out = http::serialize(res);
    if (req.method == "HEAD") out.resize(out.find("\r\n\r\n") + 4);
    write_all(r, out);
    // Counted before the answer leaves (Finish flushes it): a client that has
    // its answer then reads /metrics must find it counted.
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    deps.metrics->record(shard, route, res.status, static_cast<double>(us) / 1e6);
    FCGX_Finish_r(r);
    if (res.after) {
        try {
            res.after();
        } catch (const std::exception& e) {
            log::error(std::string("exception after the answer: ") + e.what());
        }
    }
    if (config.access_log) {
        // log::write makes the client's control characters '?'.
        log::info(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
                  std::to_string(us / 1000) + "." + std::to_string((us % 1000) / 100) + "ms");
    }
}

// One thread's connection and the objects handlers reach the database through.
struct WorkerContext {
    explicit WorkerContext(const Deps& d)
        : stores(d.config, d.read_batch),
          manager(d.manager, stores),
          auth(d.config, d.jwt, stores.tokens(), stores.sessions(), stores.refresh_tokens()),
          refresh(d.config, auth, stores.refresh_tokens(), stores.sessions()),
          throttle(d.config, stores.throttle()),
          oauth(d.config, manager, stores.users(), stores.oauth_accounts()),
          ctx{d, manager, auth, refresh, throttle, oauth} {}
    Stores stores;
    UserManager manager;
    Authenticator auth;
    RefreshTokens refresh;
    LoginThrottle throttle;
    OAuthManager oauth;
    Context ctx;
};

http::Response run_handler(const http::Handler& handler, const http::Request& req, Context& ctx) {
    try {
        return handler(req, ctx);
    } catch (const std::exception& e) {
        log::error(std::string("unhandled exception: ") + e.what());
        return http::internal_error();
    }
}

// A request read from its connection, with the handler that answers it:
// run by the worker that read it, or handed to a pool's threads together
// with its FastCGI request (heap-allocated, so its address, which libfcgi's
// streams point back to, never changes).
struct Job {
    std::unique_ptr<fcgi::Request> slot;
    http::Request req;
    const http::Handler* handler = nullptr;
    size_t route = 0;
    Clock::time_point start;
};

// Threads, each with its own Context, finishing the jobs the workers queue:
// one pool hashes passwords (hash_threads: two per hash slot), one waits on OAuth providers
// (oauth.outbound_slots). The queue is bounded: beyond it, 503 at once.
class HashPool {
  public:
    // The threads record their metrics in shards first_shard, first_shard + 1, ...
    // report_queue: the pool whose queue length /metrics shows as the hash queue.
    // nice: the threads' nice value (the hash threads yield to the workers).
    HashPool(const Deps& deps, fcgi::Connections& connections, long threads, size_t first_shard,
             long queue_limit, bool report_queue, long nice = 0)
        : deps_(deps),
          connections_(connections),
          queue_limit_(queue_limit),
          report_queue_(report_queue),
          nice_(nice) {
        for (long i = 0; i < threads; ++i)
            threads_.emplace_back(
                [this, shard = first_shard + static_cast<size_t>(i)] { loop(shard); });
    }
    ~HashPool() { stop(); }
    HashPool(const HashPool&) = delete;
    HashPool& operator=(const HashPool&) = delete;

    // Takes the job (moving from it) unless the queue is full.
    bool try_submit(Job& job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (static_cast<long>(queue_.size()) >= queue_limit_) return false;
            queue_.push_back(std::move(job));
            if (report_queue_) deps_.metrics->set_hash_queue(static_cast<long>(queue_.size()));
        }
        cv_.notify_one();
        return true;
    }

    // Finishes every queued job, then joins.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

  private:
    void loop(size_t shard) {
        // Linux: a thread id names one thread, so this sets this thread's own
        // nice value, hash_nice above the one it inherited from the process
        // (raising it needs no privilege). A worker that wakes then preempts a
        // hash thread at once. The hashing itself runs in the hash helpers
        // (users/hash_process.h), so that other processes preempt it too.
        if (nice_ > 0) {
            auto tid = static_cast<id_t>(syscall(SYS_gettid));
            errno = 0;
            int now = getpriority(PRIO_PROCESS, tid);
            int target = std::min(19, (errno != 0 ? 0 : now) + static_cast<int>(nice_));
            if (target > now && setpriority(PRIO_PROCESS, tid, target) != 0)
                log::warn(std::string("hash threads: setpriority failed: ") + std::strerror(errno));
        }
        DbThread db_thread;
        WorkerContext worker(deps_);
        Context& ctx = worker.ctx;
        for (;;) {
            Job job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                job = std::move(queue_.front());
                queue_.pop_front();
                if (report_queue_) deps_.metrics->set_hash_queue(static_cast<long>(queue_.size()));
            }
            http::Response res = run_handler(*job.handler, job.req, ctx);
            respond(job.slot->get(), deps_, shard, job.route, job.req, res, job.start);
            connections_.release(std::move(job.slot));
        }
    }

    const Deps& deps_;
    fcgi::Connections& connections_;
    long queue_limit_;
    bool report_queue_;
    long nice_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Under the accept lock: what the worker serves next (a connection with a
// request), an accept error, or timed_out when it should stop.
fcgi::Connections::Ready next_ready(fcgi::Connections& connections) {
    using Ready = fcgi::Connections::Ready;
    if (!g_stopping.load()) {
        Ready ready = connections.wait(-1);
        if (ready.kind != Ready::woken) return ready;
    }
    if (g_failed.load()) return {};
    int wait_ms = g_own_socket.drain_ms(connections);
    if (wait_ms == 0) return {};
    Ready ready = connections.wait(wait_ms);
    if (ready.kind == Ready::timed_out) g_own_socket.drained();
    return ready.kind == Ready::woken ? Ready{} : std::move(ready);
}

// A worker thread: takes the requests that are ready (under the accept
// lock), reads each, hands password-hashing and outbound ones to their
// pools, and runs the cheap ones itself. When several requests have arrived
// together it takes up to a group of them (SessionStore::kMaxBatch) and
// reads the users their tokens name (one statement for access JWTs, one for
// database tokens) before running their handlers: under load a statement,
// its round trip and the thread's wake-ups are paid once per group instead
// of once per request. The statement begins after every request of the
// group arrived, and each row serves only the request it was read for
// (Authenticator::offer), so a flag changed by SQL still counts on the next
// request. Off with read_batch = 0.
class Worker {
  public:
    Worker(const Config& config, const http::Router& router, const Deps& deps,
           fcgi::Connections& connections, HashPool& hash_pool, HashPool& outbound_pool,
           ReadDeadlines& deadlines, size_t shard)
        : config_(config),
          router_(router),
          deps_(deps),
          connections_(connections),
          hash_pool_(hash_pool),
          outbound_pool_(outbound_pool),
          deadlines_(deadlines),
          shard_(shard),
          context_(deps),
          ctx_(context_.ctx),
          group_size_(deps.read_batch ? SessionStore::kMaxBatch : 1) {}

    void run(std::mutex& accept_mutex, fcgi::ServeSlots& slots) {
        using Ready = fcgi::Connections::Ready;
        AcceptBackoff backoff;
        std::vector<std::unique_ptr<fcgi::Request>> more;
        std::vector<Job> group;
        bool holding = false;  // a slot, kept from the last group
        for (;;) {
            Ready ready;
            if (!holding) slots.acquire(shard_);
            holding = true;
            {
                std::lock_guard<std::mutex> lock(accept_mutex);
                ready = next_ready(connections_);
                // A group only of requests read without waiting: one that
                // waits for its input holds this worker alone.
                if (ready.kind == Ready::request && group_size_ > 1 && connections_.more_ready() &&
                    fcgi::Connections::whole_input_arrived(*ready.connection)) {
                    while (more.size() + 1 < group_size_) {
                        auto next = connections_.take_arrived();
                        if (!next) break;
                        more.push_back(std::move(next));
                    }
                }
            }
            if (ready.kind != Ready::request) {
                slots.release(shard_);
                holding = false;
            }
            if (ready.kind == Ready::timed_out) break;
            if (ready.kind == Ready::failed) {
                if (g_stopping.load()) break;
                if (accept_error_is_fatal(ready.error)) {
                    log::error(std::string("accept failed: ") + std::strerror(ready.error) +
                               "; stopping");
                    g_failed.store(true);
                    on_stop_signal(SIGTERM);
                    break;
                }
                backoff.failed(ready.error, *deps_.metrics);
                continue;
            }
            backoff.succeeded();
            slots.serving(shard_);
            // With others taken, the first's input was seen whole too.
            take(std::move(ready.connection), group, !more.empty());
            for (auto& connection : more) take(std::move(connection), group, true);
            more.clear();
            serve(group);
            group.clear();
            holding = slots.keep(shard_);
        }
    }

  private:
    // Reads the request on `slot` (`arrived`: its parameters are known to
    // be there). What a cheap handler answers joins `group`; the rest is
    // answered (or handed to a pool) here.
    void take(std::unique_ptr<fcgi::Request> slot, std::vector<Job>& group, bool arrived) {
        // The request's parameters, read outside the lock. The web server
        // sends them whole; when they are not all there, they must come
        // within request_body_timeout, or the connection is shut down for
        // reading and closed (a peer that stops halfway holds no worker).
        // The deadline acts on a duplicate, so it never reaches a
        // descriptor libfcgi closed and the process reused.
        Fd guard;
        if (!arrived && !fcgi::Connections::request_arrived(*slot)) {
            guard.reset(fcntl(slot->get()->ipcFd, F_DUPFD_CLOEXEC, 0));
            if (guard.get() >= 0)
                deadlines_.arm(shard_, guard.get(),
                               Clock::now() + std::chrono::seconds(config_.request_body_timeout));
        }
        bool resumed = fcgi::Connections::resume(*slot);
        if (guard.get() >= 0) {
            deadlines_.disarm(shard_);  // then the duplicate may close
            guard.reset();
        }
        if (!resumed) {  // the web server closed the connection, or broke off
            connections_.release(std::move(slot));
            return;
        }
        Job job{std::move(slot), {}, nullptr, router_.route_count(), Clock::now()};
        job.req = http::request_from_params(read_params(job.slot->get()), config_.mount_prefix);
        http::Response res;
        switch (read_body(job.slot->get(), job.req, config_, deadlines_, shard_)) {
            case BodyRead::too_large:
                res = http::payload_too_large();
                break;
            case BodyRead::too_slow:
                res = http::detail(408, "Request body not received in time");
                break;
            case BodyRead::short_body:
                res = http::detail(400, "Request body shorter than its Content-Length");
                break;
            case BodyRead::ok:
                if (job.req.role == "AUTHORIZER") {
                    res = authorizer_response(job.req, ctx_);
                    break;
                }
                if (job.req.role != "RESPONDER") {
                    res = http::detail(500, "Unsupported FastCGI role");
                    break;
                }
                auto m = router_.match(job.req);
                job.route = m.route;
                if (!m.handler) {
                    std::string to = m.status == 404 ? router_.slash_redirect(job.req) : "";
                    res = m.status == 405 ? http::method_not_allowed(m.allow)
                          : !to.empty()   ? http::temporary_redirect(std::move(to))
                                          : http::not_found();
                } else if (m.cost != http::Cost::cheap) {
                    bool hashes = m.cost == http::Cost::hashes_password;
                    job.handler = m.handler;
                    if ((hashes ? hash_pool_ : outbound_pool_).try_submit(job)) return;
                    log::warn(
                        hashes ? "hash queue full (hash_queue_limit): answering 503"
                               : "outbound queue full (oauth.outbound_queue_limit): answering 503");
                    res = http::service_unavailable();
                } else {
                    job.handler = m.handler;
                    group.push_back(std::move(job));
                    return;
                }
                break;
        }
        answer(job, res);
    }

    // Runs the group's handlers, each request's answer written as soon as
    // its handler returns; with two or more, the users of the reading
    // requests' tokens are read first: one statement for the access JWTs'
    // users, one for the database tokens'.
    void serve(std::vector<Job>& group) {
        std::vector<std::optional<Authenticator::Prepared>> prepared(group.size());
        std::vector<std::string_view> ids, hashes;
        auto add = [](std::vector<std::string_view>& to, std::string_view value) {
            if (std::find(to.begin(), to.end(), value) == to.end()) to.push_back(value);
        };
        size_t jwt_reads = 0;
        if (group.size() > 1) {
            for (size_t i = 0; i < group.size(); ++i) {
                const std::string& method = group[i].req.method;
                if (method != "GET" && method != "HEAD") continue;  // reads only
                prepared[i] = ctx_.auth.prepare(group[i].req);
                if (!prepared[i]) continue;
                if (prepared[i]->claims) {
                    add(ids, prepared[i]->subject);
                    ++jwt_reads;
                } else {
                    add(hashes, prepared[i]->token_hash);
                }
            }
        }
        GroupRows rows;
        if (!ids.empty()) {
            rows.users = ctx_.auth.read_users(ids);
            deps_.read_batch->count_group(jwt_reads);
        }
        if (!hashes.empty()) rows.token_users = ctx_.auth.read_token_users(hashes);
        for (size_t i = 0; i < group.size(); ++i) {
            if (prepared[i]) offer(std::move(*prepared[i]), rows);
            http::Response res = run_handler(*group[i].handler, group[i].req, ctx_);
            ctx_.auth.withdraw();
            answer(group[i], res);
        }
    }

    // What a group's statements read (an error: that statement failed or
    // did not run).
    struct GroupRows {
        Result<std::vector<SessionUser>, AuthError> users = make_error(AuthError::unavailable);
        Result<std::vector<std::pair<std::string, User>>, AuthError> token_users =
            make_error(AuthError::unavailable);
    };

    // Offers the request's handler the row read for its token, or the
    // error of the statement that failed to read it: the answer of every
    // request of the group then, as when its own read fails (none reads
    // again, one after another, each waiting out the statement timeout).
    void offer(Authenticator::Prepared prepared, const GroupRows& rows) {
        std::optional<SessionUser> row;
        if (prepared.claims) {
            if (!rows.users) return ctx_.auth.offer(std::move(prepared), rows.users.error());
            if (const SessionUser* found = SessionStore::row_of(*rows.users, prepared.subject))
                row = *found;
        } else {
            if (!rows.token_users)
                return ctx_.auth.offer(std::move(prepared), rows.token_users.error());
            for (const auto& [hash, user] : *rows.token_users)
                if (hash == prepared.token_hash) row.emplace().user = user;
        }
        ctx_.auth.offer(std::move(prepared), std::move(row));
    }

    void answer(Job& job, const http::Response& res) {
        respond(job.slot->get(), deps_, shard_, job.route, job.req, res, job.start);
        connections_.release(std::move(job.slot));
    }

    const Config& config_;
    const http::Router& router_;
    const Deps& deps_;
    fcgi::Connections& connections_;
    HashPool& hash_pool_;
    HashPool& outbound_pool_;
    ReadDeadlines& deadlines_;
    size_t shard_;
    DbThread db_thread_;  // before the context: its connection needs the thread set up
    WorkerContext context_;
    Context& ctx_;
    size_t group_size_;
};

void worker(const Config& config, const http::Router& router, const Deps& deps,
            std::mutex& accept_mutex, fcgi::ServeSlots& slots, fcgi::Connections& connections,
            HashPool& hash_pool, HashPool& outbound_pool, ReadDeadlines& deadlines, size_t shard) {
    Worker(config, router, deps, connections, hash_pool, outbound_pool, deadlines, shard)
        .run(accept_mutex, slots);
}

}  // namespace

int open_listen_socket(const Config& config) {
    if (FCGX_Init() != 0) throw ConfigError("listen", "libfcgi could not be initialised");
    if (config.listen.empty()) {
        if (int fd = listen::systemd_socket(); fd >= 0) return fd;
        if (FCGX_IsCGI())
            throw ConfigError("listen",
                              "is empty and no FastCGI socket was inherited on descriptor 0");
        return 0;
    }
    if (config.listen.find('/') != std::string::npos) {
        struct stat st {};
        if (lstat(config.listen.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(config.listen.c_str());
    }
    int fd = FCGX_OpenSocket(config.listen.c_str(), static_cast<int>(config.listen_backlog));
    if (fd < 0)
        throw ConfigError("listen",
                          "cannot listen on '" + config.listen + "': " + std::strerror(errno));
    return fd;
}

long hash_threads(long hash_slots) {
    return 2 * hash_slots;
}

int serve(const Config& config, const http::Router& router, const Deps& deps, int listen_fd) {
    g_own_socket.open(config, listen_fd);
    install_signal_handlers();
    std::mutex accept_mutex;
    // read_batch workers lead or serve at once (plus one for each that has
    // served for 2 ms without finishing: a write's commit, a lock wait):
    // the requests that arrive meanwhile make larger groups. A group of
    // reads takes well under 2 ms. read_batch = 0: every worker.
    fcgi::ServeSlots slots(
        static_cast<size_t>(config.read_batch > 0 ? config.read_batch : config.workers),
        static_cast<size_t>(config.workers), kServePatience);
    // Before the pools: their threads hand connections back until they stop.
    fcgi::Connections connections(listen_fd, listen::wake_fd(), deps.metrics);
    HashPool hash_pool(deps, connections, hash_threads(deps.hasher.slots()),
                       static_cast<size_t>(config.workers), config.hash_queue_limit, true,
                       config.hash_nice);
    // Threads only when a provider is configured (the routes exist only then).
    HashPool outbound_pool(deps, connections,
                           config.oauth.providers.empty() ? 0 : config.oauth.outbound_slots,
                           static_cast<size_t>(config.workers + hash_threads(deps.hasher.slots())),
                           config.oauth.outbound_queue_limit, false);
    ReadDeadlines deadlines(static_cast<size_t>(config.workers));
    std::vector<std::thread> threads;
    for (long i = 0; i < config.workers; ++i)
        threads.emplace_back(worker, std::cref(config), std::cref(router), std::cref(deps),
                             std::ref(accept_mutex), std::ref(slots), std::ref(connections),
                             std::ref(hash_pool), std::ref(outbound_pool), std::ref(deadlines),
                             static_cast<size_t>(i));
    log::info("serving on " +
              (config.listen.empty() ? std::string("the inherited socket") : config.listen) +
              " with " + std::to_string(config.workers) + " workers and " +
              std::to_string(deps.hasher.slots()) + " hash slots");
    notify::send("READY=1");
    for (auto& t : threads) t.join();
    notify::send("STOPPING=1");
    hash_pool.stop();  // the logins already queued are answered too
    outbound_pool.stop();
    g_own_socket.unlink_path();
    log::info("stopped: every request in flight answered");
    return g_failed.load() ? 1 : 0;
}

}  // namespace fu
