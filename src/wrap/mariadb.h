// RAII owners for MariaDB Connector/C and the one way the store talks SQL:
// prepared statements with bound parameters, cached per connection.
// A Connection belongs to one thread. Only store/ and wrap/ include this.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "util/result.h"
#include "util/secret.h"
#include "wrap/db_error.h"

namespace fu::db {

using Param = std::variant<std::nullptr_t, std::string_view, long long>;
using Row = std::vector<std::optional<std::string>>;
struct Rows {
    std::vector<Row> rows;
    unsigned long long affected = 0;
    unsigned long long insert_id = 0;
};

struct Endpoint {
    std::string host;
    unsigned port = 3306;
};

struct Settings {
    std::string socket;
    // TCP servers (unused with a socket). A connection starts on the first and
    // stays on the one that answers; a failed connect or a lost connection
    // moves it to the next in the list (wrapping), so each host keeps its own
    // preferred node and fails over in the configured order.
    std::vector<Endpoint> hosts{Endpoint{"127.0.0.1", 3306}};
    std::string user;
    SecretString password;
    std::string database;
    int sync_wait = 0;         // SET SESSION wsrep_sync_wait on each new connection; 0: not set
    int conflict_retries = 3;  // runs again of a transaction or statement the cluster refused
    bool multi_statements = false;  // for migrations only
    // How long one statement may take, lock waits included: the server ends it
    // (max_statement_time, lock_wait_timeout, innodb_lock_wait_timeout) and the
    // call fails as DbError::unavailable. 0: no limit (migrations).
    double statement_timeout = 0;
    unsigned connect_timeout = 3;  // seconds
    unsigned read_timeout = 30;    // seconds a reply may take (a hung server or network)
};

class Transaction;
// What a transaction body receives: the open transaction, or why it did not open.
using Begun = Result<Transaction, DbError>;

struct MysqlDeleter {
    void operator()(MYSQL* p) const { mysql_close(p); }
};
struct StmtDeleter {
    void operator()(MYSQL_STMT* p) const { mysql_stmt_close(p); }
};
struct ResDeleter {
    void operator()(MYSQL_RES* p) const { mysql_free_result(p); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlDeleter>;
using StmtPtr = std::unique_ptr<MYSQL_STMT, StmtDeleter>;
using ResPtr = std::unique_ptr<MYSQL_RES, ResDeleter>;

// One lazily opened connection. Any "server gone" error closes it; the next
// call reopens it and prepares its statements again (MYSQL_OPT_RECONNECT would
// silently lose them).
class Connection {
  public:
    explicit Connection(Settings s) : settings_(std::move(s)) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs one prepared statement; SQL text is a constant, values are params.
    Result<Rows, DbError> exec(std::string_view sql, const std::vector<Param>& params = {});
    // Runs SQL text without parameters (transactions, migrations). Never with request data.
    Result<Unit, DbError> run(std::string_view sql);
    Result<Unit, DbError> ping();
    // Whether a transaction is open on this connection (the server's own view).
    Result<bool, DbError> in_transaction();

    // The one way to run a transaction: body(Begun&) runs inside it and commits
    // it; whatever it leaves uncommitted is rolled back. When the cluster
    // refused the work (a deadlock or a Galera certification failure, 1213; a
    // node not ready, 1047; the connection lost before COMMIT was sent), the
    // whole body runs again on a fresh transaction, up to conflict_retries
    // times; the body's own answer counts only on its last run. The body must
    // therefore do nothing but SQL on this connection (no side effects).
    template <typename F>
    auto transaction(F&& body) -> decltype(body(std::declval<Begun&>()));

    bool is_open() const { return mysql_ != nullptr; }
    void close();
    // The index in Settings::hosts the next connection goes to (tests, logs).
    size_t host_index() const { return host_; }

  private:
    Result<MYSQL*, DbError> open();
    Result<MysqlPtr, DbError> connect();  // to hosts[host_], or the socket
    Result<Rows, DbError> exec_once(std::string_view sql, const std::vector<Param>& params);
    Result<Unit, DbError> run_once(std::string_view sql);
    // Outside a transaction, a statement refused by the cluster runs again
    // (bounded, see again()), and one whose connection was lost at once (an
    // idle one a server restart closed) on a new connection, the next host;
    // one lost by a timeout is not (that doubles the wait).
    template <typename F>
    auto retrying(F&& f) -> decltype(f());
    Error<DbError> fail(const char* what, unsigned err, const char* msg);
    // Before attempt `attempt` (from 0) of a transaction or statement: whether
    // the last one failed in a way that may run again, after a short backoff.
    bool again(int attempt);
    void next_host();
    // Only through Transaction, so that no path can leave one open.
    friend class Transaction;
    Result<Unit, DbError> begin();
    Result<Unit, DbError> commit();
    void rollback();

    Settings settings_;
    MysqlPtr mysql_;
    std::map<std::string, StmtPtr, std::less<>> stmts_;
    bool in_transaction_ = false;
    bool committing_ = false;
    bool refused_ = false;  // the last failure may be run again (see transaction())
    bool lost_ = false;     // the last failure lost the connection
    size_t host_ = 0;
};

// The one way to run a transaction: begin() opens it, commit() ends it, and
// the destructor rolls back whatever was not committed, on every path out
// (an early return, an error, an exception). Not copyable; one at a time per
// connection.
class Transaction {
  public:
    Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    ~Transaction();

    Result<Unit, DbError> commit();

  private:
    friend class Connection;  // only Connection::transaction() opens one
    static Result<Transaction, DbError> begin(Connection& conn);
    explicit Transaction(Connection& conn) : conn_(&conn) {}
    Connection* conn_;  // null once committed or rolled back
};

template <typename F>
auto Connection::transaction(F&& body) -> decltype(body(std::declval<Begun&>())) {
    for (int attempt = 0;; ++attempt) {
        refused_ = false;
        std::optional<Begun> tx;
        tx.emplace(Transaction::begin(*this));
        auto r = body(*tx);
        bool refused = refused_;  // by the body's statements, not by the rollback
        tx.reset();               // rolls back what the body left open
        refused_ = refused;
        if (r || !again(attempt)) return r;
    }
}

}  // namespace fu::db
