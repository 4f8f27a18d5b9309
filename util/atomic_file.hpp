#pragma once
// Files that are either fully written or not at all: a crash never leaves half a file.

#include <filesystem>
#include <string_view>

namespace joules {

/// Writes `content` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path`. Throws std::runtime_error naming the path on any I/O failure (and leaves `path`
/// as it was).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Appends one line (a '\n' is added) and flushes it to disk before returning, so that a
/// log survives a crash of the process up to its last complete line. Throws on I/O failure.
void append_line_durable(const std::filesystem::path& path, std::string_view line);

}  // namespace joules
