#!/usr/bin/env bash
# Fails, naming each place, when a C++ file of src/, tests/ or bench/ is not as
# the root .clang-format (100 columns) would write it. Fix: clang-format -i FILE.
set -euo pipefail
cd "$(dirname "$0")/../.."
find src tests bench -name '*.cpp' -o -name '*.h' | sort | xargs clang-format --dry-run --Werror
