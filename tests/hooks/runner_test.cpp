// The hook runner with real /bin/sh: arguments, environment, descriptors,
// time-outs and failures.
#include "hooks/runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fu::hooks {
namespace {

Command sh(std::string text, long timeout = 10) {
    Command c;
    c.shell_text = std::move(text);
    c.args = {"57cbb51a-ab71-4009-8802-3f54b4f2e23b", "the-token"};
    c.env = {{"PATH", "/usr/bin:/bin"}, {"FCGI_USERS_EVENT", "after_register"}};
    c.workdir = "/tmp";
    c.timeout_seconds = timeout;
    return c;
}

// Gone, or a zombie waiting for init to reap it (killed either way), within 2 s.
bool ends_soon(pid_t pid) {
    auto dead = [pid] {
        if (kill(pid, 0) != 0) return true;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string pid_field, comm, state;
        stat >> pid_field >> comm >> state;
        return state == "Z" || state == "X";
    };
    for (int i = 0; i < 100; ++i) {
        if (dead()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return dead();
}

// Runs `c` with its cancel descriptor made readable after `ms`, as a
// stopping dispatcher does.
Outcome run_stopped_after(Command c, int ms) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    c.cancel_fd = p[0];
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        EXPECT_EQ(write(p[1], "x", 1), 1);
    });
    Outcome o = run(c);
    canceller.join();
    close(p[0]);
    close(p[1]);
    return o;
}

}  // namespace

TEST(HookRunner, ArgumentsEnvironmentAndOutput) {
    Outcome o = run(sh("echo \"$1 $2 $FCGI_USERS_EVENT $(pwd)\"; echo oops >&2; exit 7"));
    EXPECT_EQ(o.exit_status, 7);
    EXPECT_FALSE(o.timed_out);
    EXPECT_EQ(o.stdout_text,
              "57cbb51a-ab71-4009-8802-3f54b4f2e23b the-token after_register /tmp\n");
    EXPECT_EQ(o.stderr_text, "oops\n");
}

TEST(HookRunner, OnlyTheGivenEnvironment) {
    setenv("FCGI_USERS_TEST_SECRET", "must-not-leak", 1);
    Outcome o = run(sh("env | sort"));
    unsetenv("FCGI_USERS_TEST_SECRET");
    EXPECT_EQ(o.exit_status, 0);
    EXPECT_EQ(o.stdout_text.find("must-not-leak"), std::string::npos);
    EXPECT_NE(o.stdout_text.find("FCGI_USERS_EVENT=after_register"), std::string::npos);
}

TEST(HookRunner, ValuesAreNeverCommandText) {
    Command c = sh("echo \"$1\"");
    c.args = {"$(echo injected)`echo injected`"};
    Outcome o = run(c);
    EXPECT_EQ(o.stdout_text, "$(echo injected)`echo injected`\n");
}

TEST(HookRunner, NoDescriptorLeaksIntoTheChild) {
    int leaked = dup(STDERR_FILENO);  // not close-on-exec
    ASSERT_GE(leaked, 3);
    Outcome o = run(sh("exec ls /proc/self/fd"));
    close(leaked);
    EXPECT_EQ(o.stdout_text, "0\n1\n2\n3\n");  // 3 is the folder ls reads
}

TEST(HookRunner, TimeoutKillsTheWholeProcessGroup) {
    auto start = std::chrono::steady_clock::now();
    Outcome o = run(sh("sleep 30 & echo $!; wait", 1));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(o.timed_out);
    EXPECT_LT(took, std::chrono::seconds(10));
    pid_t background = static_cast<pid_t>(std::stol(o.stdout_text));
    EXPECT_TRUE(ends_soon(background)) << "the command's background child survived its time-out";
}

// A command that exits in time but leaves a process holding its output (a
// mailer started with &) counts by its exit status: it used to count as
// timed out, and ran again (a second mail). That process's output is read
// meanwhile (its writes reach an open pipe), and its group is killed at the
// time-out, as a hanging command's.
TEST(HookRunner, ExitedInTimeLeavingABackgroundProcessCountsByItsStatus) {
    for (int status : {0, 3}) {
        SCOPED_TRACE(status);
        auto start = std::chrono::steady_clock::now();
        Outcome o = run(
            sh("(sleep 1; echo written later; sleep 30) & echo $!; exit " + std::to_string(status),
               3));
        auto took = std::chrono::steady_clock::now() - start;
        EXPECT_FALSE(o.timed_out);
        EXPECT_TRUE(o.left_running);
        EXPECT_EQ(o.exit_status, status);
        EXPECT_GE(took, std::chrono::milliseconds(2900));  // read until the time-out
        EXPECT_LT(took, std::chrono::seconds(10));
        EXPECT_NE(o.stdout_text.find("written later"), std::string::npos) << o.stdout_text;
        pid_t background = static_cast<pid_t>(std::stol(o.stdout_text));
        EXPECT_TRUE(ends_soon(background)) << "left running past the time-out";
    }
}

// A stop while only what a finished command left runs: the command has its
// outcome (not cancelled, which would run it again), and what it left ends.
TEST(HookRunner, AStopAfterTheShellExitedKeepsItsOutcome) {
    Outcome o = run_stopped_after(sh("sleep 30 & echo $!; exit 0", 30), 500);
    EXPECT_FALSE(o.cancelled);
    EXPECT_FALSE(o.timed_out);
    EXPECT_TRUE(o.left_running);
    EXPECT_EQ(o.exit_status, 0);
    pid_t background = static_cast<pid_t>(std::stol(o.stdout_text));
    EXPECT_TRUE(ends_soon(background)) << "what it left survived the stop";
}

// What a stopping dispatcher does: the cancel descriptor becomes readable and
// the command's whole group ends now, not at its time-out.
TEST(HookRunner, CancelKillsTheWholeProcessGroupAtOnce) {
    auto start = std::chrono::steady_clock::now();
    Outcome o = run_stopped_after(sh("sleep 30 & echo $!; wait", 30), 300);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(o.cancelled);
    EXPECT_FALSE(o.timed_out);
    EXPECT_LT(took, std::chrono::seconds(5));
    pid_t background = static_cast<pid_t>(std::stol(o.stdout_text));
    EXPECT_TRUE(ends_soon(background)) << "the command's background child survived the cancel";
}

TEST(HookRunner, MissingWorkdirIsAFailureNotACrash) {
    Command c = sh("true");
    c.workdir = "/no/such/folder";
    Outcome o = run(c);
    EXPECT_EQ(o.exit_status, 126);
    EXPECT_NE(o.stderr_text.find("working directory"), std::string::npos);
    EXPECT_FALSE(o.not_started);  // the command's own failure: the attempts count it
}

// No descriptor left in this process: the command cannot start, and that is
// said apart from a command that failed (the dispatcher spends no attempt).
TEST(HookRunner, NoDescriptorLeftIsNotStartedNotAFailedCommand) {
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit low = old;
    low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 256);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<int> held;
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) held.push_back(fd);
    int why = errno;
    Outcome o = run(sh("echo ran"));
    for (int fd : held) close(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT_EQ(why, EMFILE);
    EXPECT_TRUE(o.not_started);
    EXPECT_EQ(o.exit_status, -1);
    EXPECT_NE(o.start_error.find("Too many open files"), std::string::npos) << o.start_error;
    EXPECT_EQ(o.stdout_text, "");
    // Descriptors back: it runs.
    Outcome again = run(sh("echo ran"));
    EXPECT_FALSE(again.not_started);
    EXPECT_EQ(again.stdout_text, "ran\n");
}

TEST(HookRunner, StandardInputCarriesTheGivenTextThenEndOfFile) {
    Command c = sh("read -r line; printf '%s|' \"$line\"; cat; echo end");
    c.stdin_text = "the-token\n";
    Outcome o = run(c);
    EXPECT_EQ(o.exit_status, 0);
    EXPECT_EQ(o.stdout_text, "the-token|end\n");
}

TEST(HookRunner, ACommandThatClosesItsInputUnreadRaisesNoSigpipe) {
    // SIGPIPE's default (the end of the process), as fcgi-users has it until
    // its server starts.
    auto before = signal(SIGPIPE, SIG_DFL);
    Command c = sh("exec 0<&-; echo closed");
    c.stdin_text.assign(1 << 20, 'x');  // more than a pipe holds: the write waits for the reader
    Outcome o = run(c);
    EXPECT_EQ(o.exit_status, 0);
    EXPECT_EQ(o.stdout_text, "closed\n");
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGPIPE));
    signal(SIGPIPE, before);
}

TEST(HookRunner, ReapsTheShellBeforeReturning) {
    Command c = sh("exit 7");
    Outcome o = run(c);
    EXPECT_EQ(o.exit_status, 7);
    // Reaped: no child of this process is left, zombie or not.
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

TEST(HookRunner, SignalsTheServiceIgnoresAreDefaultAgainInTheHook) {
    // fcgi-users ignores SIGHUP and SIGPIPE; a hook must not inherit that.
    struct sigaction ign {
    }, old_hup{}, old_pipe{};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGHUP, &ign, &old_hup);
    sigaction(SIGPIPE, &ign, &old_pipe);
    Outcome o = run(sh("grep '^SigIgn' /proc/self/status"));
    sigaction(SIGHUP, &old_hup, nullptr);
    sigaction(SIGPIPE, &old_pipe, nullptr);
    EXPECT_EQ(o.exit_status, 0);
    std::string mask = o.stdout_text.substr(o.stdout_text.find(':') + 1);
    unsigned long long ignored = std::stoull(mask, nullptr, 16);
    EXPECT_EQ(ignored & (1ULL << (SIGHUP - 1)), 0ULL) << o.stdout_text;
    EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0ULL) << o.stdout_text;
}

}  // namespace fu::hooks
