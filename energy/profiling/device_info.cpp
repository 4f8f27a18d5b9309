#include "energy/profiling/device_info.hpp"

#include <ctime>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "energy/profiling/sysfs_file.hpp"

namespace joules::profiling {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool has_word(std::string_view words, std::string_view word) {
  std::size_t at = 0;
  while ((at = words.find(word, at)) != std::string_view::npos) {
    const bool starts = at == 0 || words[at - 1] == ' ';
    const bool ends = at + word.size() == words.size() || words[at + word.size()] == ' ';
    if (starts && ends) return true;
    at += word.size();
  }
  return false;
}

}  // namespace

std::string cpu_description(const std::filesystem::path& root) {
  std::vector<std::string> parts;
  std::optional<std::string> board;
  for (const char* file : {"proc/device-tree/model", "sys/firmware/devicetree/base/model"}) {
    board = read_text_file(root / file);
    if (board && !board->empty()) break;
  }

  const std::optional<std::string> cpuinfo = read_text_file(root / "proc/cpuinfo");
  std::string model, hardware, implementer, part, flags;
  int processors = 0;
  if (cpuinfo) {
    std::istringstream lines(*cpuinfo);
    std::string line;
    while (std::getline(lines, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string_view key = trim(std::string_view(line).substr(0, colon));
      const std::string value(trim(std::string_view(line).substr(colon + 1)));
      // Each processor repeats its block; the first block describes the rest on the machines
      // joules profiles (no hybrid cores are told apart here).
      if (key == "processor") ++processors;
      else if (key == "model name" && model.empty()) model = value;
      else if (key == "Hardware" && hardware.empty()) hardware = value;
      else if (key == "CPU implementer" && implementer.empty()) implementer = value;
      else if (key == "CPU part" && part.empty()) part = value;
      else if ((key == "flags" || key == "Features") && flags.empty()) flags = value;
    }
  }
  if (!model.empty()) {
    parts.push_back(model);
  } else if (!hardware.empty()) {
    parts.push_back(hardware);
  } else if (!part.empty()) {
    parts.push_back(fmt::format("ARM CPU (implementer {}, part {})", implementer, part));
  } else {
    parts.push_back("unknown CPU");
  }
  if (processors > 0) parts.push_back(fmt::format("{} logical CPU{}", processors, processors == 1 ? "" : "s"));
  // The widest vector extension: it sets how many output channels a conv kernel computes at
  // once, which is where steps in latency against the filter count come from.
  if (has_word(flags, "avx512f")) parts.push_back("AVX-512");
  else if (has_word(flags, "avx2")) parts.push_back("AVX2");
  else if (has_word(flags, "avx")) parts.push_back("AVX");
  else if (has_word(flags, "sve")) parts.push_back("SVE");
  else if (has_word(flags, "asimd")) parts.push_back("NEON");

  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return board && !board->empty() ? *board + ": " + out : out;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace joules::profiling
