#pragma once
// 64-bit FNV-1a, fed in pieces: identifies a file's bytes (the data a profile was fitted on, a
// run's log as a checkpoint saw it) without holding them all at once.

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace joules {

class Fnv1a64 {
 public:
  void update(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t value() const { return hash_; }
  /// 16 lowercase hex digits.
  std::string hex() const { return fmt::format("{:016x}", hash_); }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace joules
