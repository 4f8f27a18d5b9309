#pragma once
// A seeded random engine whose streams are the same on every platform and standard library
// (std::uniform_int_distribution is not), so that a seed reproduces a search anywhere.

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace joules {

__extension__ using Uint128 = unsigned __int128;

/// xoshiro256** seeded through SplitMix64. Not thread-safe: each user owns one.
class Rng {
 public:
  using result_type = std::uint64_t;
  /// The engine's whole state: four 64-bit words (what a checkpoint stores).
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return UINT64_MAX; }

  result_type operator()() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform integer in [0, n); n must be > 0. Unbiased (Lemire's method).
  std::size_t index(std::size_t n) {
    const std::uint64_t bound = n;
    Uint128 m = static_cast<Uint128>((*this)()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<Uint128>((*this)()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::size_t>(m >> 64);
  }

  /// Uniform integer in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(index(static_cast<std::size_t>(hi - lo) + 1));
  }

  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// True with probability p.
  bool chance(double p) { return uniform() < p; }

  /// A seed for an independent child stream (e.g. one per candidate).
  std::uint64_t split() { return (*this)(); }

  /// The current state; an engine given it with set_state() continues the same stream exactly.
  State state() const { return {state_[0], state_[1], state_[2], state_[3]}; }

  /// Restores a state taken with state(). Throws std::invalid_argument for the all-zero state,
  /// which no seed produces and from which xoshiro would return zeros forever.
  void set_state(const State& state) {
    if (state == State{}) throw std::invalid_argument("Rng state: all four words are 0 (not a state of this engine)");
    for (std::size_t i = 0; i < state.size(); ++i) state_[i] = state[i];
  }

  bool operator==(const Rng& other) const { return state() == other.state(); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4];
};

}  // namespace joules
