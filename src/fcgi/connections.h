// Connections: where a worker finds its next FastCGI request. A web server
// that keeps its FastCGI connections open (nginx's `fastcgi_keep_conn on`
// with an upstream `keepalive`, the FCGI_KEEP_CONN flag) sends the next
// request on a connection that already served one. libfcgi would read it in
// the thread that served the last, so an idle kept connection would hold a
// worker until the web server used or closed it. Here a connection waiting
// for input belongs to no thread: it waits in an epoll set, and the worker
// holding the accept lock takes the first that has a request. New
// connections are accepted as they arrive (all that are queued, up to a
// batch) into the same set, so they take their turn with the kept ones in
// the order their requests came, and a connection that sends nothing holds
// nobody.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "util/fd.h"
#include "wrap/fcgi.h"

namespace fu {
class Metrics;
}

namespace fu::fcgi {

class Connections {
  public:
    // listen_fd: the socket new connections arrive on (made non-blocking);
    // wake_fd: a descriptor that becomes readable when the server stops
    // (listen::wake_fd()), or -1. metrics (may be null): where accepted and
    // waiting connections are counted. Throws std::system_error when no epoll
    // set can be made.
    Connections(int listen_fd, int wake_fd, Metrics* metrics = nullptr);
    // Closes the connections still waiting.
    ~Connections();
    Connections(const Connections&) = delete;
    Connections& operator=(const Connections&) = delete;

    struct Ready {
        enum Kind { request, woken, timed_out, failed } kind = timed_out;
        std::unique_ptr<Request> connection;  // request: input waits on it (resume() reads it)
        int error = 0;                        // failed: accept(2)'s errno
    };

    // Waits until a connection has input, the wake descriptor is readable,
    // accept(2) fails (not for want of a connection), or timeout_ms pass (-1:
    // no limit). Only the holder of the accept lock calls it.
    Ready wait(int timeout_ms);

    // Without waiting: the next connection wait() would return, if its
    // request's whole input has arrived (whole_input_arrived), else null.
    // Only the holder of the accept lock calls these two; a worker takes a
    // group of requests so, none of which can keep it waiting.
    bool more_ready() const { return !ready_.empty(); }
    std::unique_ptr<Request> take_arrived();

    // After a stop: the wake descriptor is no longer waited for (it stays
    // readable); with accept_new = false, nor is the listening socket (what
    // is queued there stays for the next process). Connections already
    // accepted are still served, and each is closed after its answer instead
    // of kept, so the web server stops sending on it. Under the accept lock.
    void stop(bool accept_new);

    // Whether the connection's begin record and parameters have all arrived
    // (or it closed): then resume() reads them without waiting. Looks at what
    // is queued in the socket without taking it (one recv(MSG_PEEK)).
    static bool request_arrived(Request& connection);
    // Whether its parameters and its input to the end record have all
    // arrived (or it closed): then the request can be read whole without
    // waiting. The same one recv(MSG_PEEK); an input past 16 KiB does not.
    static bool whole_input_arrived(Request& connection);

    // Reads the request's role and parameters on a connection wait()
    // returned (FCGX_Accept_r, which never accepts here). False when the web
    // server closed it or broke the protocol; it is closed then.
    static bool resume(Request& connection);

    // Any thread, once a connection's request is finished (FCGX_Finish_r),
    // or resume() failed: if the web server asked to keep it and it is still
    // open, the connection waits here for its next request; otherwise it is
    // closed and its Request reused.
    void release(std::unique_ptr<Request> connection);

  private:
    enum class Arrival { partial, parameters, whole };
    static Arrival arrival(Request& connection);
    void accept_queued();
    // Under mutex_: the connection waits in the set for its next input
    // (nullptr returned), or, when it cannot be watched, is handed back.
    std::unique_ptr<Request> watch(std::unique_ptr<Request> connection);
    void count_waiting();  // under mutex_

    Fd epoll_fd_;
    int listen_fd_;
    int wake_fd_;
    bool tcp_ = false;  // the listening socket is TCP: new connections get TCP_NODELAY
    Metrics* metrics_;
    // Only the holder of the accept lock touches these two.
    std::deque<std::unique_ptr<Request>> ready_;  // input waits on them, first come first
    int accept_error_ = 0;                        // reported once ready_ is served
    mutable std::mutex mutex_;                    // guards what follows
    bool stopping_ = false;                       // stop(): nothing is kept any more
    bool closing_ = false;                        // the destructor runs
    std::unordered_map<FCGX_Request*, std::unique_ptr<Request>> waiting_;
    std::vector<std::unique_ptr<Request>> spare_;  // closed, to accept into
};

}  // namespace fu::fcgi
