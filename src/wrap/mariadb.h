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

struct Settings {
    std::string socket;
    std::string host;
    unsigned port = 3306;
    std::string user;
    SecretString password;
    std::string database;
    bool multi_statements = false;  // for migrations only
    // How long one statement may take, lock waits included: the server ends it
    // (max_statement_time, lock_wait_timeout, innodb_lock_wait_timeout) and the
    // call fails as DbError::unavailable. 0: no limit (migrations).
    double statement_timeout = 0;
    unsigned connect_timeout = 3;  // seconds
    unsigned read_timeout = 30;    // seconds a reply may take (a hung server or network)
};

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

    bool is_open() const { return mysql_ != nullptr; }
    void close();

  private:
    Result<MYSQL*, DbError> open();
    Result<Rows, DbError> exec_once(std::string_view sql, const std::vector<Param>& params);
    Result<Unit, DbError> run_once(std::string_view sql);
    // A connection that sat idle may have been closed by a server restart:
    // outside a transaction, one "server gone" on it that came at once is
    // retried on a new one (one that timed out is not: that doubles the wait).
    template <typename F>
    auto retrying(F&& f) -> decltype(f());
    Error<DbError> fail(const char* what, unsigned err, const char* msg);
    // Only through Transaction, so that no path can leave one open.
    friend class Transaction;
    Result<Unit, DbError> begin();
    Result<Unit, DbError> commit();
    void rollback();

    Settings settings_;
    MysqlPtr mysql_;
    std::map<std::string, StmtPtr, std::less<>> stmts_;
    bool in_transaction_ = false;
};

// The one way to run a transaction: begin() opens it, commit() ends it, and
// the destructor rolls back whatever was not committed, on every path out
// (an early return, an error, an exception). Not copyable; one at a time per
// connection.
class Transaction {
  public:
    static Result<Transaction, DbError> begin(Connection& conn);
    Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    ~Transaction();

    Result<Unit, DbError> commit();

  private:
    explicit Transaction(Connection& conn) : conn_(&conn) {}
    Connection* conn_;  // null once committed or rolled back
};

}  // namespace fu::db
