// The logger writes client-supplied control characters as '?', so a logged
// value cannot forge a line.
#include "util/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace fu {

TEST(Log, ControlCharactersCannotForgeALine) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    log::warn("check: unknown requirement in 'x\n2026-01-01T00:00:00Z error forged\r\x1b[2J\x7f'");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line, ended once
    EXPECT_EQ(out.find('\r'), std::string::npos);
    EXPECT_EQ(out.find('\x1b'), std::string::npos);
    EXPECT_EQ(out.find('\x7f'), std::string::npos);
    EXPECT_NE(out.find("'x?2026-01-01T00:00:00Z error forged??[2J?'"), std::string::npos) << out;
}

}  // namespace fu
