// Runs one hook command: /bin/sh -c COMMAND fcgi-users USER_ID [TOKEN] in its
// own process group, with a minimal environment, a working directory, no
// inherited descriptors but stdin (stdin_text, then end of file), stdout and
// stderr (pipes read here), and a time-out after which the whole group is
// killed (or at a cancel). Every child is reaped. Values are arguments, environment and
// standard input, never command text.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fu::hooks {

struct Command {
    std::string shell_text;
    std::vector<std::string> args;  // $1, $2, ...
    std::vector<std::pair<std::string, std::string>> env;
    std::string workdir;
    std::string stdin_text;  // what the command reads on standard input
    long timeout_seconds = 30;
    // Readable (or hung up) when the command must end now: its group is
    // killed as at the time-out, and the outcome says `cancelled`. -1: none.
    int cancel_fd = -1;
};

struct Outcome {
    int exit_status = -1;  // the exit status, 128+N for signal N, -1 when it could not start
    // Not started for want of this process's resources (descriptors,
    // processes, memory: start_error says which), not for the command's sake.
    bool not_started = false;
    std::string start_error;
    bool timed_out = false;
    bool cancelled = false;  // cancel_fd became readable first
    // The shell exited in time but a process it left still held its output
    // at the time-out (or a cancel): that process's group was killed; the
    // command counts by its exit status.
    bool left_running = false;
    std::string stdout_text;  // at most the last 64 KiB
    std::string stderr_text;  // at most the last 64 KiB
};

Outcome run(const Command& cmd);

}  // namespace fu::hooks
