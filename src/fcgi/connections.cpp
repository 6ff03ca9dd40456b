// The epoll set behind Connections. Every connection is registered one-shot:
// an event hands it to exactly one worker, and it is not watched again until
// release() re-arms it, so two workers never read one connection. The map
// owns the waiting ones; epoll's data is the FCGX_Request's address (stable:
// each Request lives on the heap), looked up in the map under the mutex, and
// an entry goes into the map before its descriptor is armed.
//
// One event of the listening socket stands for every connection queued in
// it, so it is drained then (up to kAcceptBatch): were one connection taken
// per event, the queue would get one turn in as many as there are kept
// connections with a request, and wait behind them all.
#include "fcgi/connections.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "metrics/metrics.h"

namespace fu::fcgi {
namespace {

// epoll data of the two descriptors that are not connections (no
// FCGX_Request lives at these addresses).
constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr int kAcceptBatch = 64;
constexpr int kEventBatch = 32;

void add(int epoll_fd, int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

bool is_tcp(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    return getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
           (addr.ss_family == AF_INET || addr.ss_family == AF_INET6);
}

}  // namespace

Connections::Connections(int listen_fd, int wake_fd, Metrics* metrics)
    : listen_fd_(listen_fd), wake_fd_(wake_fd), tcp_(is_tcp(listen_fd)), metrics_(metrics) {
    epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (epoll_fd_.get() < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    // Drained until EAGAIN; a socket shared with another process (systemd's)
    // is non-blocking for it too, which its holder does not mind.
    int flags = fcntl(listen_fd_, F_GETFL);
    if (flags < 0 || fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "fcntl");
    add(epoll_fd_.get(), listen_fd_, kListenTag);
    if (wake_fd_ >= 0) add(epoll_fd_.get(), wake_fd_, kWakeTag);
}

Connections::~Connections() {
    std::unordered_map<FCGX_Request*, std::unique_ptr<Request>> waiting;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = closing_ = true;
        waiting.swap(waiting_);
    }
    // Each Request closes its connection: at once (no request is in flight on
    // them, so there is nothing to let drain first).
    for (auto& [r, connection] : waiting) r->detached = 1;
    for (auto& connection : ready_) connection->get()->detached = 1;
    waiting.clear();
    ready_.clear();
}

Connections::Ready Connections::wait(int timeout_ms) {
    for (;;) {
        if (!ready_.empty()) {
            Ready ready{Ready::request, std::move(ready_.front())};
            ready_.pop_front();
            return ready;
        }
        if (accept_error_ != 0) {
            Ready failed{Ready::failed, nullptr, accept_error_};
            accept_error_ = 0;
            return failed;
        }
        epoll_event events[kEventBatch];
        int n = epoll_wait(epoll_fd_.get(), events, kEventBatch, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return {Ready::failed, nullptr, errno};  // none is expected on a valid set
        if (n == 0) return {Ready::timed_out, nullptr};
        bool woken = false;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == kListenTag) {
                accept_queued();
            } else if (events[i].data.u64 == kWakeTag) {
                woken = true;
            } else {
                std::lock_guard<std::mutex> lock(mutex_);
                auto it = waiting_.find(static_cast<FCGX_Request*>(events[i].data.ptr));
                if (it == waiting_.end())
                    continue;  // cannot happen: one-shot, armed once in the map
                ready_.push_back(std::move(it->second));
                waiting_.erase(it);
                count_waiting();
            }
        }
        // Connections already taken in are served first; the wake descriptor
        // stays readable, so the caller hears of it once they are.
        if (woken && ready_.empty() && accept_error_ == 0) return {Ready::woken, nullptr};
    }
}

std::unique_ptr<Request> Connections::take_arrived() {
    if (ready_.empty() || !whole_input_arrived(*ready_.front())) return nullptr;
    std::unique_ptr<Request> connection = std::move(ready_.front());
    ready_.pop_front();
    return connection;
}

void Connections::accept_queued() {
    for (int i = 0; i < kAcceptBatch; ++i) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) accept_error_ = errno;
            return;
        }
        if (metrics_) metrics_->count_connection_accepted();
        if (tcp_) {
            int on = 1;  // answers are written whole: no delay for Nagle's algorithm
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        }
        std::lock_guard<std::mutex> lock(mutex_);
        std::unique_ptr<Request> connection;
        if (spare_.empty()) {
            connection = std::make_unique<Request>(-1);
        } else {
            connection = std::move(spare_.back());
            spare_.pop_back();
        }
        connection->get()->ipcFd = fd;
        if (auto unwatched = watch(std::move(connection))) {  // closed, like any we cannot serve
            ::close(fd);
            unwatched->get()->ipcFd = -1;
            spare_.push_back(std::move(unwatched));
        }
    }
}

std::unique_ptr<Request> Connections::watch(std::unique_ptr<Request> connection) {
    FCGX_Request* r = connection->get();
    int fd = r->ipcFd;
    // resume() must never accept: libfcgi accepts on listen_sock when the
    // connection turns out closed, and accept(-1) fails instead.
    r->listen_sock = -1;
    waiting_.emplace(r, std::move(connection));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = r;
    // Re-arm a descriptor registered before, or add a new one (a closed
    // descriptor leaves the set by itself, so a reused number is new).
    if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0 ||
        (errno == ENOENT && epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0)) {
        count_waiting();
        return nullptr;
    }
    connection = std::move(waiting_[r]);
    waiting_.erase(r);
    return connection;
}

void Connections::stop(bool accept_new) {
    if (wake_fd_ >= 0) epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, wake_fd_, nullptr);
    wake_fd_ = -1;
    if (!accept_new && listen_fd_ >= 0)
        epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
    if (!accept_new) listen_fd_ = -1;
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
}

Connections::Arrival Connections::arrival(Request& connection) {
    // Enough for the parameters nginx sends; a request whose records run
    // past it counts as having its parameters (its first 16 KiB are there).
    unsigned char peek[16384];
    ssize_t n = recv(connection.get()->ipcFd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0)  // closed, or an error to read: nothing to wait for
        return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ? Arrival::whole
                                                                   : Arrival::partial;
    // Records: version, type, request id (2), content length (2), padding
    // length, reserved; the parameters end with an empty FCGI_PARAMS record,
    // the input with an empty FCGI_STDIN one.
    constexpr unsigned char kParams = 4;
    constexpr unsigned char kStdin = 5;
    bool parameters = false;
    for (size_t at = 0; at + 8 <= static_cast<size_t>(n);) {
        size_t length = (static_cast<size_t>(peek[at + 4]) << 8) | peek[at + 5];
        if (peek[at + 1] == kParams && length == 0) parameters = true;
        if (parameters && peek[at + 1] == kStdin && length == 0) return Arrival::whole;
        at += 8 + length + peek[at + 6];
    }
    return parameters || static_cast<size_t>(n) == sizeof peek ? Arrival::parameters
                                                               : Arrival::partial;
}

bool Connections::request_arrived(Request& connection) {
    return arrival(connection) != Arrival::partial;
}

bool Connections::whole_input_arrived(Request& connection) {
    return arrival(connection) == Arrival::whole;
}

bool Connections::resume(Request& connection) {
    FCGX_Request* r = connection.get();
    r->listen_sock = -1;
    // FCGX_Accept_r first finishes the previous request, closing the
    // connection unless it is kept: it is, until the new request's begin
    // record says whether the web server keeps it.
    r->keepConnection = 1;
    return FCGX_Accept_r(r) == 0;
}

void Connections::release(std::unique_ptr<Request> connection) {
    FCGX_Request* r = connection->get();
    if (r->keepConnection && r->ipcFd >= 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!stopping_) connection = watch(std::move(connection));  // else closed below
        if (!connection) return;
    }
    if (r->ipcFd >= 0) FCGX_Free(r, 1);
    r->keepConnection = 0;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closing_) spare_.push_back(std::move(connection));
}

void Connections::count_waiting() {
    if (metrics_) metrics_->set_connections_waiting(static_cast<long>(waiting_.size()));
}

}  // namespace fu::fcgi
