#include "fcgi/server.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "handlers/check.h"
#include "store/stores.h"
#include "util/log.h"
#include "wrap/fcgi.h"

namespace fu {
namespace {

std::atomic<bool> g_stopping{false};
std::atomic<int> g_listen_fd{-1};

// Only async-signal-safe calls: set the flag, tell libfcgi, and wake the
// accept() that blocks (libfcgi's own handler would not).
extern "C" void on_stop_signal(int) {
    g_stopping.store(true);
    FCGX_ShutdownPending();
    int fd = g_listen_fd.load();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, nullptr);
}

http::Pairs read_params(FCGX_Request* r) {
    http::Pairs out;
    for (char** e = r->envp; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (!eq) continue;
        out.emplace_back(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
    }
    return out;
}

enum class BodyRead { ok, too_large, short_body };

// CGI rules: no CONTENT_LENGTH, no body (an authorizer gets none either).
BodyRead read_body(FCGX_Request* r, http::Request& req, long max_bytes) {
    if (req.content_length <= 0 || req.role == "AUTHORIZER") return BodyRead::ok;
    if (req.content_length > max_bytes) return BodyRead::too_large;
    size_t want = static_cast<size_t>(req.content_length);
    req.body.resize(want);
    size_t got = 0;
    while (got < want) {
        int n = FCGX_GetStr(req.body.data() + got, static_cast<int>(std::min<size_t>(want - got, 1 << 20)), r->in);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    req.body.resize(got);
    return got < want ? BodyRead::short_body : BodyRead::ok;
}

// The AUTHORIZER role (Apache mod_authnz_fcgi): 200 with Variable-USER_*
// headers, which Apache passes on to the protected resource, or 401/403.
http::Response authorize(const http::Request& req, Context& ctx) {
    CheckOutcome c = check_request(req, ctx);
    http::Response res;
    res.status = c.status;
    for (const auto& [k, v] : c.user) {
        std::string name = "Variable-USER_";
        for (char ch : k) name += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        res.with_header(name, v);
    }
    if (c.status == 401) res.with_header("WWW-Authenticate", "Bearer");
    return res;
}

void write_all(FCGX_Request* r, const std::string& data) {
    FCGX_PutStr(data.data(), static_cast<int>(data.size()), r->out);
}

void worker(const Config& config, const http::Router& router, const Deps& deps, int listen_fd,
            std::mutex& accept_mutex) {
    DbThread db_thread;
    Context ctx(deps);
    fcgi::Request slot(listen_fd);
    FCGX_Request* r = slot.get();
    while (!g_stopping.load()) {
        int rc;
        {
            std::lock_guard<std::mutex> lock(accept_mutex);
            if (g_stopping.load()) break;
            rc = FCGX_Accept_r(r);
        }
        if (rc < 0) break;
        auto start = std::chrono::steady_clock::now();
        http::Request req = http::request_from_params(read_params(r), config.mount_prefix);
        http::Response res;
        switch (read_body(r, req, config.max_body_bytes)) {
        case BodyRead::too_large: res = http::payload_too_large(); break;
        case BodyRead::short_body: res = http::detail(400, "Request body shorter than its Content-Length"); break;
        case BodyRead::ok: res = dispatch(config, router, req, ctx); break;
        }
        std::string out = http::serialize(res);
        if (req.method == "HEAD") out.resize(out.find("\r\n\r\n") + 4);
        write_all(r, out);
        FCGX_Finish_r(r);
        if (config.access_log) {
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
            log::info(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
                      std::to_string(us / 1000) + "." + std::to_string((us % 1000) / 100) + "ms");
        }
    }
}

}  // namespace

http::Response dispatch(const Config& config, const http::Router& router, http::Request& req, Context& ctx) {
    (void)config;
    try {
        if (req.role == "AUTHORIZER") return authorize(req, ctx);
        if (req.role != "RESPONDER") return http::detail(500, "Unsupported FastCGI role");
        auto m = router.match(req);
        if (!m.handler) return m.status == 405 ? http::method_not_allowed(m.allow) : http::not_found();
        return (*m.handler)(req, ctx);
    } catch (const std::exception& e) {
        log::error(std::string("unhandled exception: ") + e.what());
        return http::internal_error();
    }
}

int open_listen_socket(const Config& config) {
    if (FCGX_Init() != 0) throw ConfigError("listen", "libfcgi could not be initialised");
    if (config.listen.empty()) {
        if (FCGX_IsCGI()) throw ConfigError("listen", "is empty and no FastCGI socket was inherited on descriptor 0");
        return 0;
    }
    if (config.listen.find('/') != std::string::npos) {
        struct stat st {};
        if (lstat(config.listen.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(config.listen.c_str());
    }
    int fd = FCGX_OpenSocket(config.listen.c_str(), static_cast<int>(config.listen_backlog));
    if (fd < 0) throw ConfigError("listen", "cannot listen on '" + config.listen + "': " + std::strerror(errno));
    return fd;
}

int serve(const Config& config, const http::Router& router, const Deps& deps, int listen_fd) {
    g_listen_fd.store(listen_fd);
    install_signal_handlers();
    std::mutex accept_mutex;
    std::vector<std::thread> threads;
    for (long i = 0; i < config.workers; ++i)
        threads.emplace_back(worker, std::cref(config), std::cref(router), std::cref(deps), listen_fd,
                             std::ref(accept_mutex));
    log::info("serving on " + (config.listen.empty() ? std::string("the inherited socket") : config.listen) +
              " with " + std::to_string(config.workers) + " workers and " +
              std::to_string(deps.hasher.slots()) + " hash slots");
    for (auto& t : threads) t.join();
    if (config.listen.find('/') != std::string::npos) unlink(config.listen.c_str());
    log::info("stopped: every request in flight answered");
    return 0;
}

}  // namespace fu
