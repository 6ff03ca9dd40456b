// Stores: one worker thread's database connection and the stores over it.
// The connection opens on first use and reopens after the server went away.
#pragma once

#include <memory>

#include "config/config.h"
#include "store/hook_event_store.h"
#include "store/oauth_account_store.h"
#include "store/refresh_token_store.h"
#include "store/session_store.h"
#include "store/throttle_store.h"
#include "store/token_store.h"
#include "store/user_store.h"

namespace fu {

// mysql_thread_init/end for the life of a thread that uses a Stores.
class DbThread {
  public:
    DbThread();
    ~DbThread();
    DbThread(const DbThread&) = delete;
    DbThread& operator=(const DbThread&) = delete;
};

// Library-wide init and end of the client library; one in main, before any thread.
class DbLibrary {
  public:
    DbLibrary();
    ~DbLibrary();
    DbLibrary(const DbLibrary&) = delete;
    DbLibrary& operator=(const DbLibrary&) = delete;
};

class Stores {
  public:
    // batch: shared by the threads for the hot path's reads (null: none).
    explicit Stores(const Config& config, ReadBatch* batch = nullptr);
    ~Stores();
    Stores(const Stores&) = delete;
    Stores& operator=(const Stores&) = delete;

    UserStore& users() { return users_; }
    TokenStore& tokens() { return tokens_; }
    HookEventStore& hook_events() { return hooks_; }
    SessionStore& sessions() { return sessions_; }
    RefreshTokenStore& refresh_tokens() { return refresh_; }
    ThrottleStore& throttle() { return throttle_; }
    OAuthAccountStore& oauth_accounts() { return oauth_accounts_; }
    // Whether the database answers now, as the routes need it: a read of table
    // user on a connection of its own that gives up after kHealthTimeout, so
    // /healthz answers in time even when the database hangs or the table is
    // locked (the routes' own statements wait up to db.statement_timeout).
    Result<Unit, db::DbError> ping();
    static constexpr double kHealthTimeout = 0.8;  // seconds
    // The server's innodb_flush_log_at_trx_commit (1 is the only durable setting).
    Result<long, db::DbError> flush_log_at_trx_commit();

  private:
    std::unique_ptr<db::Connection> conn_;
    std::unique_ptr<db::Connection> health_;  // ping() only; opened on first use
    HookEventStore hooks_;                    // before users_, which writes events through it
    UserStore users_;
    TokenStore tokens_;
    SessionStore sessions_;
    RefreshTokenStore refresh_;
    ThrottleStore throttle_;
    OAuthAccountStore oauth_accounts_;
};

}  // namespace fu
