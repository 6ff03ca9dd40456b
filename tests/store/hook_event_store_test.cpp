// HookEventStore's claim against the real MariaDB of scripts/test: all of a
// claim or none of it (a failure mid-claim leaves no row leased), a claim
// token that guards the outcome, and a released row due again at once.
#include "store/hook_event_store.h"

#include <memory>

#include "test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

class HookEventStoreTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        store_ = std::make_unique<HookEventStore>(*conn_, sodium::SecretBox(std::string(32, 'h')));
        tag_ = "claimtest-" + sodium::random_token(6);
    }

    void TearDown() override {
        if (conn_) {
            (void)conn_->run("DROP TRIGGER IF EXISTS hook_event_claim_fault");
            (void)conn_->exec("DELETE FROM hook_event WHERE user_id LIKE ?", {tag_ + "%"});
        }
    }

    // A due row older than any other (so a claim takes it first); returns its id.
    long long insert_due(const std::string& user_id, int seconds_past_2000) {
        auto r = conn_->exec(
            "INSERT INTO hook_event (event, user_id, user_email, payload, next_attempt_at) "
            "VALUES ('after_update', ?, 'claim@example.com', '{}', "
            "'2000-01-01' + INTERVAL ? SECOND)",
            {user_id, static_cast<long long>(seconds_past_2000)});
        EXPECT_TRUE(r);
        return r ? static_cast<long long>(r->insert_id) : 0;
    }

    std::string column(const char* name, long long id) {
        return scalar(std::string("SELECT ") + name + " FROM hook_event WHERE id = ?", {id});
    }

    std::unique_ptr<HookEventStore> store_;
    std::string tag_;
};

TEST_F(HookEventStoreTest, AClaimThatFailsHalfWayLeasesNothing) {
    long long first = insert_due(tag_ + "-a", 0);
    insert_due(tag_ + "-b", 1);
    // The lease of the second row fails (as a dropped connection would, after
    // the first row's lease): the first must not stay leased with nothing running.
    ASSERT_TRUE(
        conn_->run("CREATE TRIGGER hook_event_claim_fault BEFORE UPDATE ON hook_event "
                   "FOR EACH ROW BEGIN IF NEW.user_id = '" +
                   tag_ +
                   "-b' AND NEW.claim_token IS NOT NULL THEN SIGNAL SQLSTATE '45000' "
                   "SET MESSAGE_TEXT = 'injected'; END IF; END"));
    auto claimed = store_->claim_due(2, 60, "test:1");
    EXPECT_FALSE(claimed);
    EXPECT_EQ(column("attempts", first), "0");
    EXPECT_EQ(column("claim_token", first), "NULL");
    EXPECT_EQ(column("next_attempt_at", first), "2000-01-01 00:00:00.000000");
    auto open = conn_->in_transaction();
    ASSERT_TRUE(open);
    EXPECT_FALSE(*open);
}

TEST_F(HookEventStoreTest, TheClaimTokenGuardsTheOutcomeAndReleaseMakesTheRowDueNow) {
    long long id = insert_due(tag_ + "-c", 0);
    auto claimed = store_->claim_due(1, 60, "test:2");
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 1u);
    HookEventRow row = claimed->front();
    ASSERT_EQ(row.id, id);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_FALSE(row.taken_over);
    EXPECT_EQ(column("claimed_by", id), "test:2");
    // Another claim's failure report changes nothing.
    HookEventRow stale = row;
    stale.claim_token = std::string(32, 'x');
    ASSERT_TRUE(store_->mark_attempt_failed(stale, 1, true, "stale", std::nullopt));
    EXPECT_EQ(column("failed_at IS NULL", id), "1");
    // Released (the process stops): not counted, due now, no claim.
    ASSERT_TRUE(store_->release(row));
    EXPECT_EQ(column("attempts", id), "0");
    EXPECT_EQ(column("claim_token", id), "NULL");
    EXPECT_EQ(column("next_attempt_at <= UTC_TIMESTAMP(6)", id), "1");
}

TEST_F(HookEventStoreTest, ALapsedClaimIsTakenOver) {
    long long id = insert_due(tag_ + "-d", 0);
    auto first = store_->claim_due(1, 60, "test:3");
    ASSERT_TRUE(first && first->size() == 1u);
    // Its host vanished: the lease runs out without a report.
    ASSERT_TRUE(
        conn_->exec("UPDATE hook_event SET next_attempt_at = '2000-01-01' WHERE id = ?", {id}));
    auto again = store_->claim_due(1, 60, "test:4");
    ASSERT_TRUE(again && again->size() == 1u);
    EXPECT_TRUE(again->front().taken_over);
    EXPECT_EQ(again->front().attempts, 2);
    EXPECT_NE(again->front().claim_token, first->front().claim_token);
}

TEST_F(HookEventStoreTest, CountsPendingAndFailedEventsNotDeliveredOnes) {
    auto before = store_->counts();
    ASSERT_TRUE(before);
    insert_due(tag_ + "-p1", 0);
    insert_due(tag_ + "-p2", 0);
    long long failed = insert_due(tag_ + "-f", 0);
    ASSERT_TRUE(
        conn_->exec("UPDATE hook_event SET failed_at = UTC_TIMESTAMP(6) WHERE id = ?", {failed}));
    for (int i = 0; i < 3; ++i) {
        long long done = insert_due(tag_ + "-d" + std::to_string(i), 0);
        ASSERT_TRUE(
            conn_->exec("UPDATE hook_event SET done_at = UTC_TIMESTAMP(6) WHERE id = ?", {done}));
    }
    auto after = store_->counts();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->pending, before->pending + 2);
    EXPECT_EQ(after->failed, before->failed + 1);
}

// One user's backlog (a flood of forgot-password requests for one address
// makes one) must not make every claim read that user's history: the check
// for an earlier pending event of the same user finds it by index.
TEST_F(HookEventStoreTest, OneUsersBacklogCostsAClaimNoWalkThroughItsHistory) {
    constexpr int kDelivered = 400, kPending = 400;
    const std::string flooded = tag_ + "-flood", other = tag_ + "-other";
    auto rows = [&](int from, int count, bool done) {
        std::string sql =
            "INSERT INTO hook_event (event, user_id, user_email, payload, next_attempt_at, "
            "done_at) VALUES ";
        for (int i = from; i < from + count; ++i)
            sql += std::string(i > from ? "," : "") + "('after_forgot_password', '" + flooded +
                   "', 'flood@example.com', '{}', '2000-01-01' + INTERVAL " + std::to_string(i) +
                   " SECOND, " + (done ? "UTC_TIMESTAMP(6)" : "NULL") + ")";
        ASSERT_TRUE(conn_->run(sql));
    };
    rows(0, kDelivered, true);
    rows(kDelivered, kPending, false);
    long long head = std::stoll(
        scalar("SELECT MIN(id) FROM hook_event WHERE user_id = ? AND done_at IS NULL", {flooded}));
    long long others = insert_due(other, kDelivered + kPending + 10);

    auto read_so_far = [&] {
        auto r = conn_->exec("SHOW SESSION STATUS LIKE 'Handler_read%'");
        long long n = 0;
        if (r)
            for (const auto& row : r->rows) n += std::stoll(row[1].value_or("0"));
        return n;
    };
    long long before = read_so_far();
    auto claimed = store_->claim_due(2, 60, "test:5");
    long long read = read_so_far() - before;
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 2u);  // the backlog's first event, and the other user's
    EXPECT_EQ(claimed->at(0).id, head);
    EXPECT_EQ(claimed->at(1).id, others);
    // The pending rows are looked at once each (the due index), none of the
    // delivered ones: 160 000 index reads before.
    EXPECT_LT(read, 4 * kPending) << "rows read by the claim";
}

}  // namespace
}  // namespace fu
