// The logger writes client-supplied control characters as '?', so a logged
// value cannot forge a line.
#include "util/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "util/utf8.h"

namespace fu {
namespace {

// What `f` writes to stderr.
std::string captured(const std::function<void()>& f) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    f();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    return out;
}

size_t lines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

}  // namespace

TEST(Log, ControlCharactersCannotForgeALine) {
    std::string out = captured([] {
        log::warn(
            "check: unknown requirement in 'x\n2026-01-01T00:00:00Z error forged\r\x1b[2J\x7f'");
    });
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line, ended once
    EXPECT_EQ(out.find('\r'), std::string::npos);
    EXPECT_EQ(out.find('\x1b'), std::string::npos);
    EXPECT_EQ(out.find('\x7f'), std::string::npos);
    EXPECT_NE(out.find("'x?2026-01-01T00:00:00Z error forged??[2J?'"), std::string::npos) << out;
}

TEST(Log, ALineIsAlwaysWellFormedUtf8) {
    // A hook's output, say: a character cut short, a byte that begins none.
    std::string out =
        captured([] { log::info("hook stderr: caf\xc3\xa9 \xc3 \xff\xfe end \xe2\x82\xac"); });
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(utf8::valid(out)) << out;
    EXPECT_NE(out.find("hook stderr: caf\xc3\xa9 ? ?? end \xe2\x82\xac\n"), std::string::npos)
        << out;
}

// An outage repeats one error for every request: one line a second per kind,
// and the next one counts the lines held back.
TEST(Log, RepeatedErrorsAreWrittenOnceASecondPerKindWithTheCountHeldBack) {
    std::string first = captured([] {
        for (int i = 0; i < 1000; ++i) {
            log::warn_limited("test connect 2002", "db: connect failed: 2002 refused");
            log::warn_limited("test execute 2013", "db: execute failed: 2013 lost");
        }
    });
    EXPECT_EQ(lines(first), 2u) << first;
    EXPECT_EQ(first.find("more like it"), std::string::npos) << first;
    std::this_thread::sleep_for(std::chrono::milliseconds(1050));
    std::string next = captured(
        [] { log::warn_limited("test connect 2002", "db: connect failed: 2002 refused"); });
    EXPECT_EQ(lines(next), 1u) << next;
    EXPECT_NE(next.find("db: connect failed: 2002 refused (999 more like it since the last)"),
              std::string::npos)
        << next;
}

}  // namespace fu
