#include "util/status_line.hpp"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

namespace joules {

StatusLine::StatusLine(std::FILE* out, double interval_s)
    : out_(out), live_(::isatty(::fileno(out)) != 0), interval_s_(interval_s) {}

StatusLine::~StatusLine() { finish(); }

void StatusLine::update(const std::string& text, bool force) {
  last_ = text;
  const auto now = std::chrono::steady_clock::now();
  if (live_) {
    fmt::print(out_, "\r\033[K{}", text);
    std::fflush(out_);
    showing_ = true;
    return;
  }
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (force || last_print_ == std::chrono::steady_clock::time_point{} || since >= interval_s_) {
    fmt::print(out_, "{}\n", text);
    std::fflush(out_);
    last_print_ = now;
  }
}

void StatusLine::print(const std::string& text) {
  if (live_ && showing_) {
    fmt::print(out_, "\r\033[K{}\n{}", text, last_);
  } else {
    fmt::print(out_, "{}\n", text);
  }
  std::fflush(out_);
}

void StatusLine::finish() {
  if (live_ && showing_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
  showing_ = false;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}:{:02}", total / 60, total % 60);
  return fmt::format("{}:{:02}:{:02}", total / 3600, (total / 60) % 60, total % 60);
}

}  // namespace joules
