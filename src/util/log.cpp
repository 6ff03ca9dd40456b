// Log lines go to stderr in one write(2) each, so lines of different threads
// never interleave, and with every control character made '?', so no logged
// value (a path, a query, a header) can forge a line or a terminal escape.
// When stderr is the journal (systemd sets JOURNAL_STREAM to its
// device:inode), each line starts with the syslog priority as sd-daemon(3)
// describes ("<3>" error, "<4>" warn, "<6>" info, "<7>" debug) and carries no
// timestamp, since the journal stamps every line itself.
#include "util/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <string>

#include "util/utf8.h"

namespace fu::log {
namespace {

std::atomic<Level> g_level{Level::info};

const char* level_name(Level l) {
    switch (l) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "?";
}

const char* priority_prefix(Level l) {
    switch (l) {
        case Level::debug:
            return "<7>";
        case Level::info:
            return "<6>";
        case Level::warn:
            return "<4>";
        case Level::error:
            return "<3>";
    }
    return "<6>";
}

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

void append_stamp(std::string& out) {
    char stamp[32];
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &t);
    out.append(stamp, n);
    out += "Z ";
}

}  // namespace

void set_level(Level level) {
    g_level.store(level);
}

void write(Level level, std::string_view line) {
    if (level < g_level.load(std::memory_order_relaxed)) return;
    static const bool journal = stderr_is_journal();
    std::string out;
    out.reserve(line.size() + 48);
    if (journal) {
        out += priority_prefix(level);
    } else {
        append_stamp(out);
    }
    out += level_name(level);
    out += ' ';
    // A byte that begins no well-formed UTF-8 character is a '?' too: a log
    // reader (journald, a shipper, a test) gets text whatever was logged (a
    // hook's output, say).
    for (size_t i = 0; i < line.size();) {
        auto u = static_cast<unsigned char>(line[i]);
        size_t at = i;
        if (u >= 0x80 && utf8::next_code_point(line, i)) {
            out.append(line, at, i - at);
            continue;
        }
        out += u < 0x20 || u >= 0x7f ? '?' : line[i];
        ++i;
    }
    out += '\n';
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
        ssize_t w = ::write(STDERR_FILENO, p, left);
        if (w <= 0) return;
        p += w;
        left -= static_cast<size_t>(w);
    }
}

void write_limited(Level level, std::string_view kind, std::string_view line) {
    if (level < g_level.load(std::memory_order_relaxed)) return;
    using Clock = std::chrono::steady_clock;
    struct Held {
        Clock::time_point last;
        unsigned long count = 0;
    };
    static std::mutex mutex;
    static std::map<std::string, Held, std::less<>> held;
    unsigned long more = 0;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto now = Clock::now();
        auto it = held.find(kind);
        if (it == held.end()) {
            held.emplace(std::string(kind), Held{now, 0});
        } else if (now - it->second.last < std::chrono::seconds(1)) {
            ++it->second.count;
            return;
        } else {
            more = it->second.count;
            it->second = Held{now, 0};
        }
    }
    if (more == 0) return write(level, line);
    write(level, std::string(line) + " (" + std::to_string(more) + " more like it since the last)");
}

}  // namespace fu::log
