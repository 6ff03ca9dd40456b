// One thread's connection and stores; client-library init and end.
#include "store/stores.h"

#include "store/db_settings.h"

namespace fu {
namespace {

db::Settings health_settings(const Config& config) {
    db::Settings s = db_settings(config);
    s.statement_timeout = Stores::kHealthTimeout;
    s.connect_timeout = 1;
    s.read_timeout = 1;
    return s;
}

}  // namespace

Stores::Stores(const Config& config, ReadBatch* batch)
    : conn_(std::make_unique<db::Connection>(db_settings(config))),
      health_(std::make_unique<db::Connection>(health_settings(config))),
      hooks_(*conn_,
             sodium::SecretBox(config.hooks.token_key.empty() ? config.access_token_secret.view()
                                                              : config.hooks.token_key.view())),
      users_(*conn_, hooks_),
      tokens_(*conn_),
      sessions_(*conn_, batch),
      refresh_(*conn_),
      throttle_(*conn_),
      oauth_accounts_(*conn_) {}

Stores::~Stores() = default;

DbThread::DbThread() {
    mysql_thread_init();
}
DbThread::~DbThread() {
    mysql_thread_end();
}
DbLibrary::DbLibrary() {
    mysql_library_init(0, nullptr, nullptr);
}
DbLibrary::~DbLibrary() {
    mysql_library_end();
}

Result<Unit, db::DbError> Stores::ping() {
    auto r = health_->exec("SELECT 1 FROM user LIMIT 1");
    if (!r) return r.error();
    return Unit{};
}

Result<long, db::DbError> Stores::flush_log_at_trx_commit() {
    auto r = conn_->exec("SELECT @@innodb_flush_log_at_trx_commit");
    if (!r) return r.error();
    if (r->rows.empty() || !r->rows[0][0]) return make_error(db::DbError::other);
    return std::stol(*r->rows[0][0]);
}

}  // namespace fu
