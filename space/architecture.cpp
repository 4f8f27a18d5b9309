#include "space/architecture.hpp"

#include <fmt/format.h>

namespace joules {

std::string canonical_form(const Architecture& arch) {
  std::string out = fmt::format("input {}x{}x{}", arch.input.channels, arch.input.height,
                                arch.input.width);
  for (const Layer& layer : arch.layers) {
    out += '\n';
    if (const auto* c = std::get_if<ConvLayer>(&layer)) {
      out += fmt::format("conv f={} k={}x{} s={}x{} p={}x{} g={} bias={} bn={} act={}", c->filters,
                         c->kernel.h, c->kernel.w, c->stride.h, c->stride.w, c->padding.h,
                         c->padding.w, c->groups, c->bias, c->batch_norm, to_string(c->activation));
    } else if (const auto* p = std::get_if<PoolLayer>(&layer)) {
      if (p->global) {
        out += fmt::format("pool global op={}", to_string(p->op));
      } else {
        out += fmt::format("pool op={} k={}x{} s={}x{} p={}x{}", to_string(p->op), p->kernel.h,
                           p->kernel.w, p->stride.h, p->stride.w, p->padding.h, p->padding.w);
      }
    } else {
      const auto& f = std::get<FcLayer>(layer);
      // fmt's "{}" prints the shortest text that reads back as the same double.
      out += fmt::format("fc u={} bias={} act={} dropout={}", f.units, f.bias,
                         to_string(f.activation), f.dropout);
    }
  }
  return out;
}

std::uint64_t canonical_hash(const Architecture& arch) {
  // FNV-1a over the canonical text, then a SplitMix64 finaliser to spread the bits.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : canonical_form(arch)) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string canonical_hash_hex(const Architecture& arch) {
  return fmt::format("{:016x}", canonical_hash(arch));
}

}  // namespace joules
