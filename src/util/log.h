// The process-wide logger: one line per call on stderr, with a timestamp and
// a level. The only mutable global state of the program; thread-safe.
#pragma once

#include <string_view>

namespace fu::log {

enum class Level { debug, info, warn, error };

void set_level(Level level);
// Control characters in `line` (below 0x20, and 0x7f) are written as '?':
// callers may log client-supplied values as they are.
void write(Level level, std::string_view line);

inline void info(std::string_view line) {
    write(Level::info, line);
}
inline void warn(std::string_view line) {
    write(Level::warn, line);
}
inline void error(std::string_view line) {
    write(Level::error, line);
}
inline void debug(std::string_view line) {
    write(Level::debug, line);
}

// For errors that repeat while something is down (a database that refuses
// connections, an accept that fails): writes `line` at most once a second per
// `kind`, across all threads. The lines held back are counted, and the next
// line written of that kind ends with " (N more like it since the last)".
void write_limited(Level level, std::string_view kind, std::string_view line);

inline void warn_limited(std::string_view kind, std::string_view line) {
    write_limited(Level::warn, kind, line);
}

}  // namespace fu::log
