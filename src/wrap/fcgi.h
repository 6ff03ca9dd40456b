// RAII owner of an FCGX_Request: initialised on construction, freed (and its
// connection closed) on destruction. One per worker thread.
#pragma once

#include <fcgiapp.h>

namespace fu::fcgi {

class Request {
  public:
    explicit Request(int listen_fd) { FCGX_InitRequest(&req_, listen_fd, 0); }
    ~Request() { FCGX_Free(&req_, 1); }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    FCGX_Request* get() { return &req_; }

  private:
    FCGX_Request req_;
};

}  // namespace fu::fcgi
