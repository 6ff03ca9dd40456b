// The FastCGI side: the listening socket, N worker threads that each accept
// with FCGX_Accept_r (under one mutex, as libfcgi's examples/threaded.c),
// hash threads (two per hash slot) that finish the requests which hash a
// password (the workers hand them over and accept again), and a graceful stop: SIGTERM/SIGINT stop
// accepting, the requests in flight finish, contexts (and database connections) close, serve()
// returns. A failed accept (EMFILE, ENOMEM, ...) never ends a worker: it pauses and retries
// (counted in /metrics); a request body must arrive within request_body_timeout (else 408).
#pragma once

#include <string>

#include "handlers/context.h"
#include "http/router.h"

namespace fu {

// Opens the configured socket (or checks the inherited one on descriptor 0).
// Throws ConfigError naming `listen` when it cannot.
int open_listen_socket(const Config& config);

// The threads that finish the requests which hash a password: two per hash
// slot (deps.hasher bounds the hashes at once to the slots), so that while
// one reads the user or writes the session, the other keeps its slot's helper
// hashing (bench/README, "Twelfth round").
long hash_threads(long hash_slots);

// Serves until a stop signal; returns the process exit status (1 when the
// listening socket itself failed). deps.metrics
// must have a shard for each worker and each hash thread (workers first).
int serve(const Config& config, const http::Router& router, const Deps& deps, int listen_fd);

}  // namespace fu
