// ThrottleStore against the real MariaDB of scripts/test: what a login's
// lookup reads of login_throttle (the wait of its account and address keys,
// whether the account is counted), and that every statement reads only the
// rows of its own keys however many rows the table holds: anyone can fill it
// (a failed login to a new address adds a row), so a statement that scanned
// it would make every login slower for everyone.
#include "store/throttle_store.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

class ThrottleStoreTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        store_ = std::make_unique<ThrottleStore>(*conn_);
        unsigned char b[4];
        randombytes_buf(b, sizeof b);
        tag_ = "t" + std::to_string(b[0] | b[1] << 8 | b[2] << 16 | (b[3] & 0x7f) << 24);
    }
    void TearDown() override {
        if (!conn_) return;
        for (const std::string& k : keys_)
            (void)conn_->exec("DELETE FROM login_throttle WHERE k = ?", {std::string_view(k)});
        const std::string mine = tag_ + "-%";
        (void)conn_->exec("DELETE FROM login_throttle WHERE k LIKE ?", {std::string_view(mine)});
        for (const std::string& id : users_)
            (void)conn_->exec("DELETE FROM user WHERE id = ?", {std::string_view(id)});
    }

    static std::string account_key(const std::string& lower_email) {
        return sodium::sha256_base64url("account:" + lower_email);
    }
    std::string address_key(const std::string& which = "") {
        keys_.push_back(sodium::sha256_base64url("address:" + tag_ + which));
        return keys_.back();
    }

    // A row for `key`: refused for `seconds` more (< 0: a block that has
    // ended; 0: failures counted, not refused).
    void put(const std::string& key, long long seconds) {
        keys_.push_back(key);
        auto r = conn_->exec(
            "INSERT INTO login_throttle (k, threshold, failures, window_start, blocked_until) "
            "VALUES (?, 1, 1, UTC_TIMESTAMP(3), IF(? = 0, NULL, UTC_TIMESTAMP(3) + INTERVAL ? "
            "SECOND))",
            {std::string_view(key), seconds, seconds});
        ASSERT_TRUE(r) << r.error().detail;
    }

    std::string add_user(const std::string& email) {
        users_.push_back(sodium::uuid4());
        auto r = conn_->exec(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
            "VALUES (?, ?, 'hash-0', TRUE, FALSE, FALSE)",
            {std::string_view(users_.back()), std::string_view(email)});
        EXPECT_TRUE(r) << r.error().detail;
        return users_.back();
    }

    LoginLookup lookup(const std::string& email, bool count_account, const std::string& address) {
        auto r = store_->lookup_login(email, count_account, address);
        EXPECT_TRUE(r) << r.error().detail;
        return r ? *r : LoginLookup{};
    }

    // Rows this connection's statements have read so far (every Handler_read_*
    // counter of the session: index lookups, index and table scans).
    long long rows_read() {
        auto r = conn_->exec("SHOW SESSION STATUS LIKE 'Handler_read%'");
        EXPECT_TRUE(r) << r.error().detail;
        long long n = 0;
        if (r)
            for (const auto& row : r->rows) n += std::stoll(row[1].value_or("0"));
        return n;
    }

    std::unique_ptr<ThrottleStore> store_;
    std::string tag_;
    std::vector<std::string> keys_, users_;
};

TEST_F(ThrottleStoreTest, AnAddressWithoutAccountIsKeyedAsTheLookupReadsIt) {
    const std::string email = unique_email("Nobody");
    std::string lower = email;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    LoginLookup l = lookup(email + "  ", true, address_key());
    EXPECT_FALSE(l.user);
    EXPECT_EQ(l.account_key, account_key(lower));  // lower case, trailing spaces dropped
    EXPECT_EQ(l.wait_ms, 0);
    EXPECT_FALSE(l.account_counted);
}

TEST_F(ThrottleStoreTest, EverySpellingOfAnAccountHasItsKey) {
    const std::string email = unique_email("ann");
    const std::string id = add_user(email);
    std::string upper = email;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& spelling : {email, upper}) {
        LoginLookup l = lookup(spelling, true, address_key());
        ASSERT_TRUE(l.user) << spelling;
        EXPECT_EQ(l.user->id, id);
        EXPECT_EQ(l.user->email, email);
        EXPECT_EQ(l.account_key, account_key(email));
    }
}

TEST_F(ThrottleStoreTest, TheAddressWaitsAlwaysTheAccountOnlyWhenCounted) {
    const std::string email = unique_email("bob");
    add_user(email);
    const std::string address = address_key();
    put(address, 60);
    for (bool count_account : {true, false}) {
        LoginLookup l = lookup(email, count_account, address);
        EXPECT_GT(l.wait_ms, 55'000) << count_account;
        EXPECT_LE(l.wait_ms, 60'000) << count_account;
        EXPECT_FALSE(l.account_counted) << count_account;
    }
    put(account_key(email), 120);
    LoginLookup counted = lookup(email, true, address);
    EXPECT_GT(counted.wait_ms, 115'000);  // the longer of the two
    EXPECT_LE(counted.wait_ms, 120'000);
    EXPECT_TRUE(counted.account_counted);
    LoginLookup uncounted = lookup(email, false, address);
    EXPECT_GT(uncounted.wait_ms, 55'000);  // the address's only
    EXPECT_LE(uncounted.wait_ms, 60'000);
    EXPECT_FALSE(uncounted.account_counted);
    // The longer of the two, whichever key it is.
    const std::string longer_address = address_key("-2");
    put(longer_address, 300);
    LoginLookup address_longer = lookup(email, true, longer_address);
    EXPECT_GT(address_longer.wait_ms, 295'000);
    EXPECT_LE(address_longer.wait_ms, 300'000);
    EXPECT_TRUE(address_longer.account_counted);
    // Address throttling off: no address key, the account's wait alone.
    LoginLookup account_only = lookup(email, true, "");
    EXPECT_GT(account_only.wait_ms, 115'000);
    EXPECT_TRUE(account_only.account_counted);
}

TEST_F(ThrottleStoreTest, CountedFailuresAndEndedBlocksWaitNothing) {
    const std::string email = unique_email("carl");
    add_user(email);
    const std::string address = address_key();
    put(account_key(email), 0);
    put(address, -30);
    LoginLookup l = lookup(email, true, address);
    EXPECT_EQ(l.wait_ms, 0);
    EXPECT_TRUE(l.account_counted);  // a success must clear it
    EXPECT_FALSE(lookup(email, false, address).account_counted);
}

TEST_F(ThrottleStoreTest, EveryStatementReadsOnlyItsOwnKeysRows) {
    // 20 000 other keys, as failed logins to many addresses would leave.
    auto filled = conn_->exec(
        "INSERT INTO login_throttle (k, threshold, failures, window_start, blocked_until) "
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199) "
        "SELECT CONCAT(?, '-', a.i, '-', b.i), 10, 3, UTC_TIMESTAMP(3), IF(b.i % 2, NULL, "
        "UTC_TIMESTAMP(3) + INTERVAL 1 HOUR) FROM n a JOIN n b ON b.i < 100",
        {std::string_view(tag_)});
    ASSERT_TRUE(filled) << filled.error().detail;
    ASSERT_EQ(filled->affected, 20000u);
    const std::string known = unique_email("dora"), unknown = unique_email("nobody");
    add_user(known);
    const std::string address = address_key();
    put(address, 60);
    put(account_key(known), 0);
    // Prepared once outside the count (preparing reads no rows, but the
    // first statement on a connection may read the data dictionary).
    lookup(known, true, address);

    auto reads_of = [&](const char* what, auto&& statement) {
        long long before = rows_read();
        statement();
        long long n = rows_read() - before;
        EXPECT_LE(n, 16) << what << " read " << n << " rows of a table of 20 000";
    };
    reads_of("a login's lookup, known account", [&] {
        LoginLookup l = lookup(known, true, address);
        EXPECT_TRUE(l.user);
        EXPECT_TRUE(l.account_counted);
        EXPECT_GT(l.wait_ms, 0);
    });
    reads_of("a login's lookup, no account",
             [&] { EXPECT_FALSE(lookup(unknown, true, address).user); });
    reads_of("a login's lookup, account not counted",
             [&] { EXPECT_TRUE(lookup(known, false, address).user); });
    reads_of("a wait read", [&] {
        auto w = store_->wait_ms(address);
        ASSERT_TRUE(w);
        EXPECT_GT(*w, 0);
    });
    reads_of("a failure recorded", [&] {
        EXPECT_TRUE(store_->record_failure({{account_key(known), 10}, {address, 100}}, 900, 15));
    });
    reads_of("a counter cleared", [&] { EXPECT_TRUE(store_->clear(account_key(known))); });
    reads_of("a count", [&] { EXPECT_TRUE(store_->count(address_key("count"), 900)); });
}

// Each call gets its own count, concurrent ones too (a limit checked against
// it is never passed), and a window that has ended starts again at 1.
TEST_F(ThrottleStoreTest, CountsGiveEachCallItsOwnNumberWithinTheWindow) {
    const std::string key = address_key("counted");
    for (long long expected = 1; expected <= 3; ++expected) {
        auto n = store_->count(key, 900);
        ASSERT_TRUE(n) << n.error().detail;
        EXPECT_EQ(*n, expected);
    }
    constexpr int kThreads = 8;
    std::vector<long long> got(kThreads, 0);
    testdb::at_once(
        kThreads, [] { return std::make_unique<db::Connection>(db_settings(testdb::config())); },
        [&](int t, db::Connection& conn) {
            auto n = ThrottleStore(conn).count(key, 900);
            got[static_cast<size_t>(t)] = n ? *n : -1;
        });
    std::sort(got.begin(), got.end());
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[static_cast<size_t>(t)], 4 + t);
    // The window has ended: counted from 1 again.
    ASSERT_TRUE(conn_->exec(
        "UPDATE login_throttle SET window_start = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE k = ?",
        {std::string_view(key)}));
    auto again = store_->count(key, 900);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 1);
    EXPECT_EQ(scalar("SELECT window_start > UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE FROM "
                     "login_throttle WHERE k = ?",
                     {std::string_view(key)}),
              "1");
}

}  // namespace
}  // namespace fu
