#pragma once
// Progress for long commands: a live line rewritten in place on a terminal, plain log lines
// (at most one per interval) when the output is a file or a pipe.

#include <chrono>
#include <cstdio>
#include <string>

namespace joules {

/// Not thread-safe: one owner prints. Destruction ends a live line with a newline.
class StatusLine {
 public:
  /// `interval_s`: the least time between two plain log lines when not on a terminal.
  explicit StatusLine(std::FILE* out = stderr, double interval_s = 10.0);
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool live() const { return live_; }
  /// Shows `text` as the current status (on a terminal: replaces the line; otherwise printed
  /// when `interval_s` has passed since the last printed status, or when `force`).
  void update(const std::string& text, bool force = false);
  /// Prints a permanent line above the live line (or as a plain line).
  void print(const std::string& text);
  /// Ends the live line, leaving its last text visible.
  void finish();

 private:
  std::FILE* out_;
  bool live_;
  double interval_s_;
  bool showing_ = false;
  std::string last_;
  std::chrono::steady_clock::time_point last_print_{};
};

/// "1:02:03", "4:05" or "12s".
std::string format_duration(double seconds);

}  // namespace joules
