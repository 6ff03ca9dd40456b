// Prepared statements with generic string results. Errors keep errno and the
// server's message for the log; callers see only the DbError code.
#include "wrap/mariadb.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <sodium.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "util/log.h"

namespace fu::db {
namespace {

bool is_gone(unsigned err) {
    switch (err) {
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_LOST:
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_SERVER_LOST_EXTENDED:
        case CR_UNKNOWN_HOST:
        case ER_SERVER_SHUTDOWN:
        case ER_CONNECTION_KILLED:
        case CR_COMMANDS_OUT_OF_SYNC:
            return true;
        default:
            return false;
    }
}

// Galera's refusals, which the same work may overcome when run again: a
// deadlock or a certification failure (a conflicting write committed first on
// another node), and a node that is not (yet) part of the primary component.
constexpr unsigned kWsrepNotReady = ER_UNKNOWN_COM_ERROR;  // 1047
bool is_refused(unsigned err) {
    return err == ER_LOCK_DEADLOCK || err == kWsrepNotReady;
}

// A statement ended by Settings::statement_timeout: the database is not
// answering in time, which a client sees as it sees an outage (503).
bool is_timeout(unsigned err) {
    return err == ER_STATEMENT_TIMEOUT || err == ER_LOCK_WAIT_TIMEOUT;
}

}  // namespace

void Connection::next_host() {
    if (!settings_.hosts.empty()) host_ = (host_ + 1) % settings_.hosts.size();
}

bool Connection::again(int attempt) {
    if (!refused_ || attempt >= settings_.conflict_retries) return false;
    // Backoff with jitter, so that two conflicting writers do not meet again:
    // 5-10 ms, then 10-20, 20-40, ...
    unsigned base = 5u << std::min(attempt, 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(base + randombytes_uniform(base + 1)));
    return true;
}

void Connection::close() {
    stmts_.clear();  // statements before their connection
    mysql_.reset();
}

Error<DbError> Connection::fail(const char* what, unsigned err, const char* msg) {
    DbError code = err == ER_DUP_ENTRY                                  ? DbError::duplicate
                   : is_gone(err) || is_timeout(err) || is_refused(err) ? DbError::unavailable
                                                                        : DbError::other;
    // Once a second per kind: an outage fails every request the same way.
    if (code != DbError::duplicate)
        log::warn_limited(std::string("db ") + what + " " + std::to_string(err),
                          std::string("db: ") + what + " failed: " + std::to_string(err) + " " +
                              (msg ? msg : ""));
    // Refused work may run again; so may a transaction whose connection was
    // lost before its COMMIT went out (the server rolled it back). Lost during
    // the COMMIT, its outcome is unknown: it is not run again. Nor is a
    // statement that timed out.
    lost_ = is_gone(err);
    refused_ = is_refused(err) || (lost_ && !committing_);
    // A node that is gone, not ready or not answering in time: the connection
    // is abandoned and the next one goes to the next host.
    if (lost_ || is_timeout(err) || err == kWsrepNotReady) {
        close();
        in_transaction_ = false;
        next_host();
    }
    return make_error(code, std::to_string(err));
}

Result<MYSQL*, DbError> Connection::open() {
    if (mysql_) return mysql_.get();
    // Every host once, from the current one on: the first that answers serves.
    size_t tries = settings_.socket.empty() ? std::max<size_t>(settings_.hosts.size(), 1) : 1;
    Error<DbError> last = make_error(DbError::unavailable, "no host");
    for (size_t i = 0; i < tries; ++i) {
        auto m = connect();
        if (m) {
            mysql_ = std::move(*m);
            return mysql_.get();
        }
        last = m.error();
        if (m.error().code != DbError::unavailable)
            break;  // refused credentials: no other host helps
        next_host();
    }
    return last;
}

Result<MysqlPtr, DbError> Connection::connect() {
    MysqlPtr m(mysql_init(nullptr));
    if (!m) return make_error(DbError::unavailable, "mysql_init");
    unsigned timeout = settings_.connect_timeout;
    mysql_optionsv(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    unsigned rw_timeout = settings_.read_timeout;
    mysql_optionsv(m.get(), MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_optionsv(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_optionsv(m.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    my_bool off = 0;
    mysql_optionsv(m.get(), MYSQL_OPT_RECONNECT, &off);
    unsigned long flags = settings_.multi_statements ? CLIENT_MULTI_STATEMENTS : 0;
    bool tcp = settings_.socket.empty() && !settings_.hosts.empty();
    const Endpoint* at = tcp ? &settings_.hosts[host_ % settings_.hosts.size()] : nullptr;
    std::string where = tcp ? at->host + ":" + std::to_string(at->port) : settings_.socket;
    std::string password(settings_.password.view());
    MYSQL* ok = mysql_real_connect(
        m.get(), tcp ? at->host.c_str() : nullptr, settings_.user.c_str(), password.c_str(),
        settings_.database.empty() ? nullptr : settings_.database.c_str(), tcp ? at->port : 0,
        tcp ? nullptr : settings_.socket.c_str(), flags);
    sodium_memzero(password.data(), password.size());
    if (!ok) {
        unsigned err = mysql_errno(m.get());
        log::warn_limited("db connect " + std::to_string(err),
                          "db: connect failed: " + std::to_string(err) + " " +
                              mysql_error(m.get()) + " (" + where + ")");
        return make_error(is_gone(err) || err >= 2000 || err == kWsrepNotReady
                              ? DbError::unavailable
                              : DbError::other,
                          std::to_string(err));
    }
    // Time values are read and written as UTC; every statement is bounded; on
    // a cluster, each read waits for the writes committed before it
    // (wsrep_sync_wait).
    std::string session = "SET time_zone = '+00:00'";
    if (settings_.statement_timeout > 0) {
        auto whole = std::to_string(static_cast<long>(std::ceil(settings_.statement_timeout)));
        session += ", max_statement_time = " + std::to_string(settings_.statement_timeout) +
                   ", lock_wait_timeout = " + whole + ", innodb_lock_wait_timeout = " + whole;
    }
    if (settings_.sync_wait > 0)
        session += ", SESSION wsrep_sync_wait = " + std::to_string(settings_.sync_wait);
    if (mysql_real_query(m.get(), session.data(), session.size()) != 0) {
        unsigned err = mysql_errno(m.get());
        log::warn_limited("db setup " + std::to_string(err),
                          "db: setup failed: " + std::to_string(err) + " " + mysql_error(m.get()) +
                              " (" + where + ")");
        return make_error(
            is_gone(err) || err == kWsrepNotReady ? DbError::unavailable : DbError::other,
            std::to_string(err));
    }
    return m;
}

template <typename F>
auto Connection::retrying(F&& f) -> decltype(f()) {
    // In a transaction, the transaction runs again as a whole (transaction()).
    if (in_transaction_) return f();
    // An autocommit statement runs again when refused, and on a new connection
    // (the next host) when its own was lost at once, e.g. an idle one that a
    // server restart closed; lost after a wait (a timeout), it is not: that
    // doubles the wait. A connect that fails on every host ends it.
    auto started = std::chrono::steady_clock::now();
    for (int attempt = 0;; ++attempt) {
        refused_ = false;
        lost_ = false;
        auto r = f();
        if (r) return r;
        if (lost_ && std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(500))
            return r;
        if (!again(attempt)) return r;
    }
}

Result<Unit, DbError> Connection::begin() {
    auto r = run("START TRANSACTION");
    in_transaction_ = r.has_value();
    return r;
}

Result<Unit, DbError> Connection::commit() {
    committing_ = true;
    auto r = run_once("COMMIT");
    committing_ = false;
    in_transaction_ = false;
    return r;
}

Result<Unit, DbError> Connection::run(std::string_view sql) {
    return retrying([&] { return run_once(sql); });
}

Result<Rows, DbError> Connection::exec(std::string_view sql, const std::vector<Param>& params) {
    return retrying([&] { return exec_once(sql, params); });
}

Result<Unit, DbError> Connection::run_once(std::string_view sql) {
    auto m = open();
    if (!m) return m.error();
    if (mysql_real_query(*m, sql.data(), sql.size()) != 0)
        return fail("query", mysql_errno(*m), mysql_error(*m));
    // Drain every result (multi statements in migrations).
    do {
        ResPtr res(mysql_store_result(*m));
        if (!res && mysql_field_count(*m) != 0)
            return fail("query", mysql_errno(*m), mysql_error(*m));
        int next = mysql_next_result(*m);
        if (next > 0) return fail("query", mysql_errno(*m), mysql_error(*m));
        if (next < 0) break;
    } while (true);
    return Unit{};
}

void Connection::rollback() {
    in_transaction_ = false;
    if (mysql_ && mysql_real_query(mysql_.get(), "ROLLBACK", 8) != 0)
        (void)fail("rollback", mysql_errno(mysql_.get()), mysql_error(mysql_.get()));
}

Result<Unit, DbError> Connection::ping() {
    auto r = exec("SELECT 1");
    if (!r) return r.error();
    return Unit{};
}

Result<bool, DbError> Connection::in_transaction() {
    auto r = exec("SELECT @@in_transaction");
    if (!r) return r.error();
    return !r->rows.empty() && r->rows[0][0].value_or("0") != "0";
}

Result<Transaction, DbError> Transaction::begin(Connection& conn) {
    if (auto r = conn.begin(); !r) return r.error();
    return Transaction(conn);
}

Result<Unit, DbError> Transaction::commit() {
    Connection* c = conn_;
    conn_ = nullptr;
    if (!c) return make_error(DbError::other, "commit without a transaction");
    auto r = c->commit();
    // A COMMIT that failed without losing the connection leaves the
    // transaction open on the server: end it here, not on the next request.
    if (!r && c->is_open()) c->rollback();
    return r;
}

Transaction::~Transaction() {
    if (conn_) conn_->rollback();
}

Result<Rows, DbError> Connection::exec_once(std::string_view sql,
                                            const std::vector<Param>& params) {
    auto m = open();
    if (!m) return m.error();

    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
        StmtPtr s(mysql_stmt_init(*m));
        if (!s) return fail("stmt_init", mysql_errno(*m), mysql_error(*m));
        if (mysql_stmt_prepare(s.get(), sql.data(), sql.size()) != 0)
            return fail("prepare", mysql_stmt_errno(s.get()), mysql_stmt_error(s.get()));
        it = stmts_.emplace(std::string(sql), std::move(s)).first;
    }
    MYSQL_STMT* st = it->second.get();

    if (mysql_stmt_param_count(st) != params.size())
        return make_error(DbError::other, "parameter count");
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<long long> ints(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
        MYSQL_BIND& b = binds[i];
        std::memset(&b, 0, sizeof b);
        if (std::holds_alternative<std::nullptr_t>(params[i])) {
            b.buffer_type = MYSQL_TYPE_NULL;
        } else if (auto* sv = std::get_if<std::string_view>(&params[i])) {
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = const_cast<char*>(sv->data());
            lengths[i] = sv->size();
            b.buffer_length = sv->size();
            b.length = &lengths[i];
        } else {
            ints[i] = std::get<long long>(params[i]);
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &ints[i];
        }
    }
    if (!binds.empty() && mysql_stmt_bind_param(st, binds.data()) != 0)
        return fail("bind", mysql_stmt_errno(st), mysql_stmt_error(st));
    if (mysql_stmt_execute(st) != 0)
        return fail("execute", mysql_stmt_errno(st), mysql_stmt_error(st));

    Rows out;
    out.affected = mysql_stmt_affected_rows(st);
    out.insert_id = mysql_stmt_insert_id(st);
    unsigned ncols = mysql_stmt_field_count(st);
    if (ncols == 0) return out;

    // Each column is fetched into its own kInline bytes of one buffer.
    constexpr unsigned long kInline = 512;
    struct Fetched {
        unsigned long len = 0;
        my_bool null = 0;
        my_bool error = 0;
    };
    std::vector<MYSQL_BIND> res(ncols);
    std::vector<Fetched> fetched(ncols);
    std::string buffer(ncols * kInline, '\0');
    for (unsigned c = 0; c < ncols; ++c) {
        std::memset(&res[c], 0, sizeof res[c]);
        res[c].buffer_type = MYSQL_TYPE_STRING;
        res[c].buffer = buffer.data() + c * kInline;
        res[c].buffer_length = kInline;
        res[c].length = &fetched[c].len;
        res[c].is_null = &fetched[c].null;
        res[c].error = &fetched[c].error;
    }
    if (mysql_stmt_bind_result(st, res.data()) != 0) {
        mysql_stmt_free_result(st);
        return fail("bind_result", mysql_stmt_errno(st), mysql_stmt_error(st));
    }
    for (;;) {
        int rc = mysql_stmt_fetch(st);
        if (rc == MYSQL_NO_DATA) break;
        if (rc == 1) {
            auto e = fail("fetch", mysql_stmt_errno(st), mysql_stmt_error(st));
            if (mysql_) mysql_stmt_free_result(st);
            return e;
        }
        Row row(ncols);
        for (unsigned c = 0; c < ncols; ++c) {
            if (fetched[c].null) continue;
            unsigned long len = fetched[c].len;
            if (len <= kInline) {
                row[c].emplace(buffer.data() + c * kInline, len);
            } else {  // MYSQL_DATA_TRUNCATED: fetch the whole column
                std::string big(len, '\0');
                MYSQL_BIND b{};
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = big.data();
                b.buffer_length = len;
                unsigned long got = 0;
                b.length = &got;
                mysql_stmt_fetch_column(st, &b, c, 0);
                row[c] = std::move(big);
            }
        }
        out.rows.push_back(std::move(row));
    }
    mysql_stmt_free_result(st);
    return out;
}

}  // namespace fu::db
