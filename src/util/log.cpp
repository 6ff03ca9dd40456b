// Log lines go to stderr in one write(2) each, so lines of different threads
// never interleave, and with every control character made '?', so no logged
// value (a path, a query, a header) can forge a line or a terminal escape.
#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>

namespace fu::log {
namespace {

std::atomic<Level> g_level{Level::info};

const char* level_name(Level l) {
    switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    }
    return "?";
}

}  // namespace

void set_level(Level level) { g_level.store(level); }

void write(Level level, std::string_view line) {
    if (level < g_level.load(std::memory_order_relaxed)) return;
    char stamp[32];
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &t);
    std::string out;
    out.reserve(line.size() + 48);
    out.append(stamp, n);
    out += "Z ";
    out += level_name(level);
    out += ' ';
    for (char c : line) {
        auto u = static_cast<unsigned char>(c);
        out += u < 0x20 || u == 0x7f ? '?' : c;
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

}  // namespace fu::log
