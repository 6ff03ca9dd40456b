// Migrator: applies sql/NNN_name.sql files in order, each once, recording
// them in table schema_migrations. Safe to run again and from two processes
// at once (a named lock serialises them).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace fu {

struct MigrationOutcome {
    std::vector<std::string> applied;  // file names applied by this run
    std::vector<std::string> already;  // applied before
};

// Connects with the configured database settings and applies what is
// missing from config.migrations_dir. Throws std::runtime_error with a
// readable message (migrate is a command-line tool).
MigrationOutcome migrate(const Config& config);

}  // namespace fu
