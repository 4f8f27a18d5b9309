#include "train/augment.hpp"

#include "util/random.hpp"

namespace joules {

void augment_batch(torch::Tensor& x, const torch::Tensor& rows, std::int64_t epoch, std::uint64_t seed,
                   const AugmentOptions& options, const Data::Tensors& data) {
  if (!options.enabled()) return;
  const std::int64_t n = x.size(0);
  const std::int64_t h = x.size(2);
  const std::int64_t w = x.size(3);
  const std::int64_t p = options.crop_padding;
  torch::Tensor padded;
  if (p > 0) {
    // Filled with the normalised value of a black pixel, then the batch in the middle.
    padded = data.shift.expand({n, x.size(1), h + 2 * p, w + 2 * p}).contiguous();
    padded.narrow(2, p, h).narrow(3, p, w).copy_(x);
  }
  const std::int64_t* row = rows.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    Rng rng(seed ^ (static_cast<std::uint64_t>(row[i]) * 0x9E3779B97F4A7C15ULL) ^
            (static_cast<std::uint64_t>(epoch) * 0xC2B2AE3D27D4EB4FULL));
    torch::Tensor sample = x[i];
    if (p > 0) {
      const std::int64_t dy = rng.between(0, 2 * p);
      const std::int64_t dx = rng.between(0, 2 * p);
      sample.copy_(padded[i].narrow(1, dy, h).narrow(2, dx, w));
    }
    if (options.horizontal_flip && rng.chance(0.5)) sample.copy_(sample.flip({2}));
  }
}

}  // namespace joules
