#pragma once
// The space of plain CNNs a search explores, and its genetic operators.
//
// A genome is a fixed-length vector of choice indices:
//   [n_blocks, block_0 (6 genes), ..., block_{max-1}, n_fc, units_0, ..., units_{max-1}, global_pool]
// with a block = [filters, kernel, stride, separable, batch_norm, pool]. Genes of inactive
// blocks and fc layers are kept (crossover can bring them back) but do not change the network.
// Every operator is deterministic for a given Rng state and returns a genome that decodes to a
// valid, shape-feasible architecture.

#include <cstdint>
#include <string>
#include <utility>
#include <optional>
#include <vector>

#include "space/architecture.hpp"
#include "util/random.hpp"

namespace joules {

namespace yaml {
class Value;
}

enum class BlockPool { none, max, avg };

/// Most choices one list of a search space may hold (`filters`, `kernels`, `fc_units`, ...).
inline constexpr std::size_t kMaxChoices = 256;

struct CountRange {
  int min = 0;
  int max = 0;
  bool operator==(const CountRange&) const = default;
};

/// What the space offers; every list is a set of choices. Defaults give a small
/// Fashion-MNIST space.
struct SearchSpaceOptions {
  Shape input{1, 28, 28};                 // fixed input, channels x height x width
  std::int64_t classes = 10;              // units of the final fc layer (activation none)
  CountRange conv_blocks{1, 4};           // number of conv blocks
  std::vector<std::int64_t> filters{8, 16, 32, 64};  // output channels of a block
  std::vector<std::int64_t> kernels{3, 5};           // square kernels, padding = kernel / 2
  std::vector<std::int64_t> strides{1};
  std::vector<bool> separable{false};      // depthwise (k x k) + pointwise (1 x 1) instead of k x k
  std::vector<bool> batch_norm{false};     // batch norm after each conv (then no conv bias)
  std::vector<BlockPool> pool{BlockPool::none, BlockPool::max};  // pooling after the block
  std::int64_t pool_kernel = 2;            // pooling window and stride; skipped on smaller maps
  CountRange fc_layers{0, 2};              // hidden fc layers before the classifier
  std::vector<std::int64_t> fc_units{64, 128};
  double fc_dropout = 0.0;                 // dropout on the input of every fc layer
  std::vector<bool> global_pool{false};    // global average pooling before the fc layers

  bool operator==(const SearchSpaceOptions&) const = default;
};

using Genome = std::vector<int>;

/// Reads a search space from YAML (a file of its own or a section of a search config).
/// Throws InputError naming the file, line and key.
SearchSpaceOptions parse_search_space(const yaml::Value& node);
SearchSpaceOptions load_search_space(const std::string& path);

/// Writes options as YAML that parse_search_space() reads back to the same options.
std::string to_yaml(const SearchSpaceOptions& options);

/// Immutable after construction; every method is const and safe to call from several threads
/// (each caller passes its own Rng).
class SearchSpace {
 public:
  static constexpr int kBlockGenes = 6;

  /// Throws SpecError (key relative to the space, e.g. "conv_blocks.filters[1]") for empty
  /// or duplicate choices, non-positive sizes, count ranges out of order, or a space whose
  /// largest network overflows.
  explicit SearchSpace(SearchSpaceOptions options);

  const SearchSpaceOptions& options() const { return options_; }
  std::size_t genome_length() const { return cardinality_.size(); }
  /// Number of values each gene can take (counts are offset: gene value = count - min).
  const std::vector<int>& cardinalities() const { return cardinality_; }

  /// A random genome: counts and every choice uniform.
  Genome sample(Rng& rng) const;
  /// One change: a choice of an active block or fc layer, or a block or fc layer added or
  /// removed. The child decodes to a different architecture whenever the space allows one.
  Genome mutate(const Genome& parent, Rng& rng) const;
  /// Uniform crossover with whole blocks and fc layers as units; two complementary children.
  std::pair<Genome, Genome> crossover(const Genome& a, const Genome& b, Rng& rng) const;

  /// The network a genome stands for. Throws std::invalid_argument for a malformed genome.
  Architecture decode(const Genome& genome) const;
  /// A genome that decodes to `arch` (name ignored); inactive genes are 0.
  /// Throws std::invalid_argument when `arch` is not in this space.
  Genome encode(const Architecture& arch) const;
  /// Throws std::invalid_argument naming the first gene out of range.
  void check(const Genome& genome) const;
  /// A numeric description for models of what a genome scores (the search's surrogate): one
  /// 0/1 entry per value of every gene, set for the values of the active genes (blocks and fc
  /// layers present, and their counts); inactive genes add nothing. The same length for every
  /// genome of the space; encode(decode(g)) gives one description per architecture. Throws as
  /// check().
  std::vector<double> features(const Genome& genome) const;

  Architecture sample_architecture(Rng& rng) const { return decode(sample(rng)); }

  /// A layer some network of the space has, with the shape of its input.
  struct ReachableLayer {
    Shape input;
    Layer layer;
    bool operator==(const ReachableLayer&) const = default;
  };
  /// Every distinct (input shape, layer) that some genome of the space decodes to, found by
  /// walking the block boundaries' shapes depth by depth (not by sampling): convs, depthwise
  /// and pointwise convs, pools, the global pool, hidden fc layers and the classifier.
  std::vector<ReachableLayer> reachable_layers() const;

  /// `count` architectures drawn uniformly over the genomes with an engine seeded by `seed`
  /// (the same on every machine), named "sample-1", "sample-2", ...; repeats are possible in
  /// small spaces, as in the search's random sampling.
  std::vector<Architecture> sample_architectures(std::size_t count, std::uint64_t seed) const;

  /// Every distinct architecture of the space (equal canonical hashes are one), each with the
  /// first genome that decodes to it, walking block and fc counts ascending and the active
  /// choices in mixed radix (inactive genes 0); named "member-1", "member-2", ... in that
  /// order, which is the same on every machine. std::nullopt as soon as more than `limit`
  /// are found (a space too large to list).
  std::optional<std::vector<std::pair<Genome, Architecture>>> enumerate(std::size_t limit) const;

 private:
  std::size_t block_gene(int block, int field) const { return 1 + block * kBlockGenes + field; }
  std::size_t fc_count_gene() const { return 1 + options_.conv_blocks.max * kBlockGenes; }
  std::size_t fc_gene(int index) const { return fc_count_gene() + 1 + index; }
  std::size_t head_gene() const { return fc_gene(options_.fc_layers.max); }
  int blocks(const Genome& g) const { return g[0] + options_.conv_blocks.min; }
  int fcs(const Genome& g) const { return g[fc_count_gene()] + options_.fc_layers.min; }

  void append_block(const Genome& g, int block, std::vector<Layer>& layers, Shape& shape) const;
  std::vector<std::size_t> active_choice_genes(const Genome& g) const;
  bool encode_blocks(const Architecture& arch, std::size_t pos, Shape shape, int block,
                     Genome& g) const;

  SearchSpaceOptions options_;
  std::vector<int> cardinality_;
};

}  // namespace joules
