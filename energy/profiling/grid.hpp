#pragma once
// Profiling grids (configs/profiling/*.yaml; docs/formats/profiling-grid.md): the layer configurations
// `joules profile` measures, as sections `conv`, `fc` and `pool`, each a list of blocks whose
// keys give values (a number, a list, or a range {from, to, step}) that multiply out into
// points. Torch-free.
//
//     conv:
//       - name: filter-steps
//         input_size: 32
//         in_channels: [16, 32]
//         filters: {from: 1, to: 64, step: 1}
//         kernel: 3
//         padding: same

#include <cstdint>
#include <string>
#include <vector>

#include "space/architecture.hpp"
#include "space/layer.hpp"
#include "space/search_space.hpp"

namespace joules::profiling {

/// One layer configuration to measure.
struct GridPoint {
  Shape input;
  Layer layer;
  std::string family;  // the block it comes from: its `name`, else "conv[0]", "fc[1]", ...

  bool operator==(const GridPoint&) const = default;
};

struct ProfileGrid {
  std::string file;
  std::string name;        // optional `name:`
  std::uint64_t seed = 1;  // `seed:` of the measuring order
  /// In file order; a configuration that two blocks both produce is kept once (the first).
  std::vector<GridPoint> points;
};

/// The most points a grid may expand to (a bigger one is almost surely a typo in a range).
inline constexpr std::size_t kMaxGridPoints = 100000;

/// Reads a grid. Throws InputError naming the file, line and key for YAML errors, unknown or
/// missing keys, values out of range, a configuration impossible on its input (naming the
/// block and the values), an empty grid, or more than kMaxGridPoints points.
ProfileGrid load_profile_grid(const std::string& path);
ProfileGrid parse_profile_grid(const std::string& text, const std::string& file);

/// The points in the order to measure them: shuffled by `seed` (the same order on every
/// machine), so that slow drifts (temperature, background load) spread over the grid instead
/// of following a swept size.
std::vector<GridPoint> measuring_order(const ProfileGrid& grid, std::uint64_t seed);

struct SpaceGridOptions {
  /// Points to keep (0: every reachable layer configuration and the filter-step points). At
  /// least the points that span the space's ranges are always kept.
  std::size_t points = 0;
  /// Seeds the space-filling design's order, and becomes the grid's measuring-order seed.
  std::uint64_t seed = 1;
  /// Names the grid's source (the config file), for provenance.
  std::string file;
};

/// A grid that covers every layer configuration a search space can produce (see
/// SearchSpace::reachable_layers): for each layer kind, the configurations that reach the
/// ends of every fitted-range key (MACs, channels, filters, kernel, stride, input size,
/// units) are kept, plus filter counts around each multiple of 8 between the space's
/// smallest and largest filters on one representative conv (so that a fit can see the
/// scheduling step), and the rest is trimmed to `points` by a seeded greedy maximin design
/// over the layers' (log) sizes. Throws std::invalid_argument when `points` is below the
/// number of range-spanning points (naming it) or the space is invalid.
ProfileGrid grid_from_space(const SearchSpaceOptions& space, const SpaceGridOptions& options);

/// The grid as a profiling-grid YAML file (one block per point; square inputs only, as the
/// format has a single input_size): what `joules profile --grid-from` writes beside its
/// measurements, readable by `joules profile --grid`.
std::string to_yaml(const ProfileGrid& grid);

/// Identifies a layer configuration: equal for equal input and layer (whatever the family),
/// for a point of a grid and for the same configuration read back from a measurements CSV.
std::string point_key(const Shape& input, const Layer& layer);

}  // namespace joules::profiling
