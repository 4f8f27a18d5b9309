#include "space/search_space.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules {
namespace {

enum BlockField { kFilters = 0, kKernel, kStride, kSeparable, kBatchNorm, kPool };

constexpr int kMaxBlocks = 64;
constexpr int kMaxFcLayers = 16;

template <class T>
void check_choices(const std::vector<T>& values, const std::string& key) {
  if (values.empty()) throw SpecError(key, "needs at least one choice");
  if (values.size() > kMaxChoices) {
    throw SpecError(key, fmt::format("at most {} choices, got {}", kMaxChoices, values.size()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (values[j] == values[i]) throw SpecError(fmt::format("{}[{}]", key, i), "duplicate choice");
    }
  }
}

void check_sizes(const std::vector<std::int64_t>& values, const std::string& key, std::int64_t max) {
  check_choices(values, key);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 1 || values[i] > max) {
      throw SpecError(fmt::format("{}[{}]", key, i),
                      fmt::format("must be in [1, {}], got {}", max, values[i]));
    }
  }
}

void check_count(CountRange range, int limit, const std::string& key) {
  if (range.min < 0) throw SpecError(key + ".min", fmt::format("must be >= 0, got {}", range.min));
  if (range.max > limit) {
    throw SpecError(key + ".max", fmt::format("must be <= {}, got {}", limit, range.max));
  }
  if (range.min > range.max) {
    throw SpecError(key, fmt::format("min {} is larger than max {}", range.min, range.max));
  }
}

// Output length of a "same"-padded conv or a pooling window (the caller checked it fits).
std::int64_t out_len(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

// --- YAML -----------------------------------------------------------------------------------

CountRange read_count(const yaml::Value& v, int limit) {
  if (v.is_map()) {
    v.allow_keys({"min", "max"});
    return {static_cast<int>(v.require("min").as_int(0, limit)),
            static_cast<int>(v.require("max").as_int(0, limit))};
  }
  const int n = static_cast<int>(v.as_int(0, limit));
  return {n, n};
}

// A list of choices, or one value standing for a list of one.
template <class Read>
auto read_list(const yaml::Value& v, Read read) {
  std::vector<decltype(read(v))> out;
  // Refused before reading: a long list would cost memory and time for nothing.
  if (v.size() > kMaxChoices) v.fail(fmt::format("at most {} choices, got {}", kMaxChoices, v.size()));
  if (v.is_sequence()) {
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(read(v.at(i)));
  } else {
    out.push_back(read(v));
  }
  return out;
}

std::vector<std::int64_t> read_ints(const yaml::Value& v) {
  return read_list(v, [](const yaml::Value& x) { return x.as_int(); });
}

std::vector<bool> read_bools(const yaml::Value& v) {
  return read_list(v, [](const yaml::Value& x) { return x.as_bool(); });
}

std::string join(const auto& values, auto format) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + format(v);
  return "[" + out + "]";
}

constexpr EnumNames<BlockPool, 3> kBlockPoolNames{
    {{BlockPool::none, "none"}, {BlockPool::max, "max"}, {BlockPool::avg, "avg"}}};

std::string_view to_string(BlockPool p) { return name_of(kBlockPoolNames, p); }

}  // namespace

SearchSpaceOptions parse_search_space(const yaml::Value& root) {
  if (!root.is_map()) root.fail("expected a search space: a map with input, classes, conv_blocks, fc_layers");
  root.allow_keys({"input", "classes", "conv_blocks", "fc_layers", "global_pool"});
  SearchSpaceOptions o;
  const yaml::Value input = root.require("input");
  if (!input.is_sequence() || input.size() != 3) input.fail("expected [channels, height, width]");
  o.input = Shape{input.at(0).as_int(1, kMaxDimension), input.at(1).as_int(1, kMaxDimension),
                  input.at(2).as_int(1, kMaxDimension)};
  o.classes = root.require("classes").as_int(1, kMaxDimension);

  if (const yaml::Value b = root.get("conv_blocks"); b.defined()) {
    b.allow_keys({"count", "filters", "kernel", "stride", "separable", "batch_norm", "pool", "pool_kernel"});
    if (b.get("count").defined()) o.conv_blocks = read_count(b.get("count"), kMaxBlocks);
    if (b.get("filters").defined()) o.filters = read_ints(b.get("filters"));
    if (b.get("kernel").defined()) o.kernels = read_ints(b.get("kernel"));
    if (b.get("stride").defined()) o.strides = read_ints(b.get("stride"));
    if (b.get("separable").defined()) o.separable = read_bools(b.get("separable"));
    if (b.get("batch_norm").defined()) o.batch_norm = read_bools(b.get("batch_norm"));
    if (b.get("pool").defined()) {
      o.pool = read_list(b.get("pool"), [](const yaml::Value& x) {
        return x.as_enum(kBlockPoolNames);
      });
    }
    if (b.get("pool_kernel").defined()) o.pool_kernel = b.get("pool_kernel").as_int();
  }
  if (const yaml::Value f = root.get("fc_layers"); f.defined()) {
    f.allow_keys({"count", "units", "dropout"});
    if (f.get("count").defined()) o.fc_layers = read_count(f.get("count"), kMaxFcLayers);
    if (f.get("units").defined()) o.fc_units = read_ints(f.get("units"));
    if (f.get("dropout").defined()) o.fc_dropout = f.get("dropout").as_double(0.0, 0.99);
  }
  if (root.get("global_pool").defined()) o.global_pool = read_bools(root.get("global_pool"));

  try {
    SearchSpace space(o);  // the one validator
  } catch (const SpecError& e) {
    root.fail_at(e);
  }
  return o;
}

SearchSpaceOptions load_search_space(const std::string& path) {
  return parse_search_space(yaml::Value::parse_file(path));
}

std::string to_yaml(const SearchSpaceOptions& o) {
  auto num = [](std::int64_t v) { return fmt::format("{}", v); };
  auto flag = [](bool v) { return std::string(v ? "true" : "false"); };
  std::string out;
  out += fmt::format("input: [{}, {}, {}]\n", o.input.channels, o.input.height, o.input.width);
  out += fmt::format("classes: {}\n", o.classes);
  out += "conv_blocks:\n";
  out += fmt::format("  count: {{min: {}, max: {}}}\n", o.conv_blocks.min, o.conv_blocks.max);
  out += fmt::format("  filters: {}\n", join(o.filters, num));
  out += fmt::format("  kernel: {}\n", join(o.kernels, num));
  out += fmt::format("  stride: {}\n", join(o.strides, num));
  out += fmt::format("  separable: {}\n", join(o.separable, flag));
  out += fmt::format("  batch_norm: {}\n", join(o.batch_norm, flag));
  out += fmt::format("  pool: {}\n", join(o.pool, [](BlockPool p) { return std::string(to_string(p)); }));
  out += fmt::format("  pool_kernel: {}\n", o.pool_kernel);
  out += "fc_layers:\n";
  out += fmt::format("  count: {{min: {}, max: {}}}\n", o.fc_layers.min, o.fc_layers.max);
  out += fmt::format("  units: {}\n", join(o.fc_units, num));
  out += fmt::format("  dropout: {}\n", o.fc_dropout);
  out += fmt::format("global_pool: {}\n", join(o.global_pool, flag));
  return out;
}

// --- SearchSpace ----------------------------------------------------------------------------

SearchSpace::SearchSpace(SearchSpaceOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.input.channels < 1 || o.input.height < 1 || o.input.width < 1) {
    throw SpecError("input", "every dimension must be >= 1");
  }
  if (o.classes < 1) throw SpecError("classes", fmt::format("must be >= 1, got {}", o.classes));
  check_count(o.conv_blocks, kMaxBlocks, "conv_blocks.count");
  check_count(o.fc_layers, kMaxFcLayers, "fc_layers.count");
  check_sizes(o.filters, "conv_blocks.filters", kMaxDimension);
  check_sizes(o.kernels, "conv_blocks.kernel", 1024);
  check_sizes(o.strides, "conv_blocks.stride", 1024);
  check_choices(o.separable, "conv_blocks.separable");
  check_choices(o.batch_norm, "conv_blocks.batch_norm");
  check_choices(o.pool, "conv_blocks.pool");
  if (o.pool_kernel < 1 || o.pool_kernel > 1024) {
    throw SpecError("conv_blocks.pool_kernel", fmt::format("must be in [1, 1024], got {}", o.pool_kernel));
  }
  if (o.fc_layers.max > 0) check_sizes(o.fc_units, "fc_layers.units", kMaxDimension);
  if (o.fc_units.empty()) options_.fc_units = {1};  // never read: keeps the gene well-formed
  if (!(o.fc_dropout >= 0.0 && o.fc_dropout < 1.0)) {
    throw SpecError("fc_layers.dropout", fmt::format("must be in [0, 1), got {}", o.fc_dropout));
  }
  check_choices(o.global_pool, "global_pool");

  cardinality_.push_back(o.conv_blocks.max - o.conv_blocks.min + 1);
  for (int b = 0; b < o.conv_blocks.max; ++b) {
    for (std::size_t n : {o.filters.size(), o.kernels.size(), o.strides.size(), o.separable.size(),
                          o.batch_norm.size(), o.pool.size()}) {
      cardinality_.push_back(static_cast<int>(n));
    }
  }
  cardinality_.push_back(o.fc_layers.max - o.fc_layers.min + 1);
  for (int i = 0; i < o.fc_layers.max; ++i) cardinality_.push_back(static_cast<int>(options_.fc_units.size()));
  cardinality_.push_back(static_cast<int>(o.global_pool.size()));

  // The largest network of the space must be representable: the most blocks, the widest and
  // largest choices, stride 1 and no pooling, the most and widest fc layers.
  Genome largest(genome_length(), 0);
  largest[0] = cardinality_[0] - 1;
  auto argmax = [](const std::vector<std::int64_t>& v) {
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
  };
  auto argmin = [](const std::vector<std::int64_t>& v) {
    return static_cast<int>(std::min_element(v.begin(), v.end()) - v.begin());
  };
  const auto none_pool = std::find(o.pool.begin(), o.pool.end(), BlockPool::none);
  const auto plain = std::find(o.separable.begin(), o.separable.end(), false);
  for (int b = 0; b < o.conv_blocks.max; ++b) {
    largest[block_gene(b, kFilters)] = argmax(o.filters);
    largest[block_gene(b, kKernel)] = argmax(o.kernels);
    largest[block_gene(b, kStride)] = argmin(o.strides);
    largest[block_gene(b, kSeparable)] = plain == o.separable.end() ? 0 : static_cast<int>(plain - o.separable.begin());
    largest[block_gene(b, kPool)] = none_pool == o.pool.end() ? 0 : static_cast<int>(none_pool - o.pool.begin());
  }
  largest[fc_count_gene()] = cardinality_[fc_count_gene()] - 1;
  for (int i = 0; i < o.fc_layers.max; ++i) largest[fc_gene(i)] = argmax(options_.fc_units);
  try {
    analyze(decode(largest));
  } catch (const SpecError& e) {
    throw SpecError("conv_blocks", "the largest network of this space is impossible: " + e.message());
  }
}

void SearchSpace::check(const Genome& g) const {
  if (g.size() != genome_length()) {
    throw std::invalid_argument(
        fmt::format("genome has {} genes, this search space needs {}", g.size(), genome_length()));
  }
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (g[i] < 0 || g[i] >= cardinality_[i]) {
      throw std::invalid_argument(
          fmt::format("gene {} is {}, expected a value in [0, {})", i, g[i], cardinality_[i]));
    }
  }
}

void SearchSpace::append_block(const Genome& g, int block, std::vector<Layer>& layers,
                               Shape& shape) const {
  const auto& o = options_;
  const std::int64_t filters = o.filters[g[block_gene(block, kFilters)]];
  const std::int64_t kernel = o.kernels[g[block_gene(block, kKernel)]];
  const std::int64_t stride = o.strides[g[block_gene(block, kStride)]];
  const bool separable = o.separable[g[block_gene(block, kSeparable)]];
  const bool bn = o.batch_norm[g[block_gene(block, kBatchNorm)]];
  const BlockPool pool = o.pool[g[block_gene(block, kPool)]];

  // "Same" padding (kernel / 2) fits any map of at least 1x1, so every block is feasible.
  const std::int64_t pad = kernel / 2;
  ConvLayer conv{.kernel = Size2::square(kernel), .stride = Size2::square(stride),
                 .padding = Size2::square(pad), .bias = !bn, .batch_norm = bn};
  if (separable) {
    ConvLayer depthwise = conv;
    depthwise.filters = shape.channels;
    depthwise.groups = shape.channels;
    layers.emplace_back(depthwise);
    conv.kernel = Size2::square(1);
    conv.stride = Size2::square(1);
    conv.padding = Size2::square(0);
  }
  conv.filters = filters;
  layers.emplace_back(conv);
  shape = Shape{filters, out_len(shape.height, kernel, stride, pad), out_len(shape.width, kernel, stride, pad)};

  // Pooling is skipped where the map is already smaller than its window.
  if (pool != BlockPool::none && shape.height >= o.pool_kernel && shape.width >= o.pool_kernel) {
    const Size2 k = Size2::square(o.pool_kernel);
    layers.emplace_back(PoolLayer{.op = pool == BlockPool::max ? PoolOp::max : PoolOp::avg,
                                  .kernel = k, .stride = k});
    shape.height = out_len(shape.height, o.pool_kernel, o.pool_kernel, 0);
    shape.width = out_len(shape.width, o.pool_kernel, o.pool_kernel, 0);
  }
}

std::vector<SearchSpace::ReachableLayer> SearchSpace::reachable_layers() const {
  const auto& o = options_;
  std::vector<ReachableLayer> out;
  std::set<std::string> seen;
  const auto add = [&](const Shape& input, const Layer& layer) {
    if (seen.insert(canonical_form(Architecture{.input = input, .layers = {layer}})).second) {
      out.push_back(ReachableLayer{.input = input, .layer = layer});
    }
  };
  // Shapes at a block boundary, depth by depth; a block depends only on the shape it gets.
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t>> boundary{{o.input.channels, o.input.height, o.input.width}};
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t>> final_shapes;
  if (o.conv_blocks.min == 0) final_shapes = boundary;
  Genome g(genome_length(), 0);
  for (int depth = 1; depth <= o.conv_blocks.max; ++depth) {
    std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t>> next;
    for (const auto& [c, h, w] : boundary) {
      for (int f0 = 0; f0 < cardinality_[block_gene(0, kFilters)]; ++f0) {
        for (int f1 = 0; f1 < cardinality_[block_gene(0, kKernel)]; ++f1) {
          for (int f2 = 0; f2 < cardinality_[block_gene(0, kStride)]; ++f2) {
            for (int f3 = 0; f3 < cardinality_[block_gene(0, kSeparable)]; ++f3) {
              for (int f4 = 0; f4 < cardinality_[block_gene(0, kBatchNorm)]; ++f4) {
                for (int f5 = 0; f5 < cardinality_[block_gene(0, kPool)]; ++f5) {
                  const int fields[] = {f0, f1, f2, f3, f4, f5};
                  for (int f = 0; f < kBlockGenes; ++f) g[block_gene(0, f)] = fields[f];
                  std::vector<Layer> layers;
                  Shape shape{c, h, w};
                  append_block(g, 0, layers, shape);
                  const NetworkAnalysis a = analyze(Architecture{.input = Shape{c, h, w}, .layers = layers});
                  for (std::size_t i = 0; i < layers.size(); ++i) add(a.layers[i].input, layers[i]);
                  next.insert({shape.channels, shape.height, shape.width});
                }
              }
            }
          }
        }
      }
    }
    boundary = std::move(next);
    if (depth >= o.conv_blocks.min) final_shapes.insert(boundary.begin(), boundary.end());
  }
  // The head: an optional global pool, hidden fc layers, the classifier.
  std::set<std::int64_t> fc_inputs;
  for (const auto& [c, h, w] : final_shapes) {
    for (bool global : o.global_pool) {
      const Shape shape{c, h, w};
      if (global) add(shape, PoolLayer{.op = PoolOp::avg, .global = true});
      fc_inputs.insert(global ? c : c * h * w);
    }
  }
  std::set<std::int64_t> inputs = fc_inputs;
  for (int i = 0; i <= o.fc_layers.max; ++i) {
    std::set<std::int64_t> next;
    for (std::int64_t in : inputs) {
      // The classifier follows any count of hidden layers from the minimum on.
      if (i >= o.fc_layers.min) {
        add(Shape{in, 1, 1}, FcLayer{.units = o.classes, .activation = Activation::none, .dropout = o.fc_dropout});
      }
      if (i < o.fc_layers.max) {
        for (std::int64_t units : o.fc_units) {
          add(Shape{in, 1, 1}, FcLayer{.units = units, .dropout = o.fc_dropout});
          next.insert(units);
        }
      }
    }
    inputs = std::move(next);
  }
  return out;
}

std::vector<Architecture> SearchSpace::sample_architectures(std::size_t count, std::uint64_t seed) const {
  Rng rng(seed);
  std::vector<Architecture> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(sample_architecture(rng));
    out.back().name = fmt::format("sample-{}", i + 1);
  }
  return out;
}

std::optional<std::vector<std::pair<Genome, Architecture>>> SearchSpace::enumerate(std::size_t limit) const {
  std::vector<std::pair<Genome, Architecture>> out;
  std::unordered_set<std::string> seen;
  for (int nb = 0; nb < cardinality_[0]; ++nb) {
    for (int nf = 0; nf < cardinality_[fc_count_gene()]; ++nf) {
      Genome g(genome_length(), 0);
      g[0] = nb;
      g[fc_count_gene()] = nf;
      std::vector<std::size_t> genes;  // the active choices, last one fastest
      for (int b = 0; b < blocks(g); ++b) {
        for (int f = 0; f < kBlockGenes; ++f) genes.push_back(block_gene(b, f));
      }
      for (int i = 0; i < fcs(g); ++i) genes.push_back(fc_gene(i));
      genes.push_back(head_gene());
      while (true) {
        Architecture arch = decode(g);
        if (seen.insert(canonical_hash_hex(arch)).second) {
          if (out.size() == limit) return std::nullopt;
          arch.name = fmt::format("member-{}", out.size() + 1);
          out.emplace_back(g, std::move(arch));
        }
        // The next combination: increment the last gene, carrying to the ones before it.
        std::size_t k = genes.size();
        while (k > 0 && ++g[genes[k - 1]] == cardinality_[genes[k - 1]]) g[genes[--k]] = 0;
        if (k == 0) break;
      }
    }
  }
  return out;
}

Architecture SearchSpace::decode(const Genome& g) const {
  check(g);
  Architecture arch;
  arch.input = options_.input;
  Shape shape = options_.input;
  for (int b = 0; b < blocks(g); ++b) append_block(g, b, arch.layers, shape);
  if (options_.global_pool[g[head_gene()]]) arch.layers.emplace_back(PoolLayer{.op = PoolOp::avg, .global = true});
  for (int i = 0; i < fcs(g); ++i) {
    arch.layers.emplace_back(FcLayer{.units = options_.fc_units[g[fc_gene(i)]], .dropout = options_.fc_dropout});
  }
  arch.layers.emplace_back(FcLayer{.units = options_.classes, .activation = Activation::none,
                                   .dropout = options_.fc_dropout});
  return arch;
}

Genome SearchSpace::sample(Rng& rng) const {
  Genome g(genome_length());
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<int>(rng.index(cardinality_[i]));
  return g;
}

std::vector<std::size_t> SearchSpace::active_choice_genes(const Genome& g) const {
  std::vector<std::size_t> genes;
  for (int b = 0; b < blocks(g); ++b) {
    for (int f = 0; f < kBlockGenes; ++f) genes.push_back(block_gene(b, f));
  }
  for (int i = 0; i < fcs(g); ++i) genes.push_back(fc_gene(i));
  genes.push_back(head_gene());
  std::erase_if(genes, [&](std::size_t i) { return cardinality_[i] < 2; });
  return genes;
}

std::vector<double> SearchSpace::features(const Genome& genome) const {
  check(genome);
  std::vector<std::size_t> offset(cardinality_.size() + 1, 0);
  for (std::size_t i = 0; i < cardinality_.size(); ++i) offset[i + 1] = offset[i] + cardinality_[i];
  std::vector<double> x(offset.back(), 0.0);
  std::vector<std::size_t> genes = active_choice_genes(genome);
  genes.push_back(0);
  genes.push_back(fc_count_gene());
  for (std::size_t gene : genes) x[offset[gene] + static_cast<std::size_t>(genome[gene])] = 1.0;
  return x;
}

Genome SearchSpace::mutate(const Genome& parent, Rng& rng) const {
  check(parent);
  const Architecture before = decode(parent);
  enum Op { kChange, kAddBlock, kRemoveBlock, kAddFc, kRemoveFc };
  Genome child = parent;
  // A change can be invisible (a choice of a pool that is skipped): try again, a bounded
  // number of times, so that the child differs whenever the space has any other network.
  for (int attempt = 0; attempt < 32; ++attempt) {
    child = parent;
    const int n_blocks = blocks(child);
    const int n_fc = fcs(child);
    const std::vector<std::size_t> choices = active_choice_genes(child);
    // Changing a choice is twice as likely as each structural change.
    std::vector<Op> ops;
    if (!choices.empty()) ops.insert(ops.end(), {kChange, kChange});
    if (n_blocks < options_.conv_blocks.max) ops.push_back(kAddBlock);
    if (n_blocks > options_.conv_blocks.min) ops.push_back(kRemoveBlock);
    if (n_fc < options_.fc_layers.max) ops.push_back(kAddFc);
    if (n_fc > options_.fc_layers.min) ops.push_back(kRemoveFc);
    if (ops.empty()) return child;  // a space of exactly one network

    const auto block_begin = child.begin() + static_cast<std::ptrdiff_t>(block_gene(0, 0));
    const auto fc_begin = child.begin() + static_cast<std::ptrdiff_t>(fc_gene(0));
    switch (ops[rng.index(ops.size())]) {
      case kChange: {
        const std::size_t gene = choices[rng.index(choices.size())];
        // A different value, uniformly among the others.
        const int other = static_cast<int>(rng.index(cardinality_[gene] - 1));
        child[gene] = other >= child[gene] ? other + 1 : other;
        break;
      }
      case kAddBlock: {
        // Insert a random block at a random position; the slot past the end is reused.
        const int at = static_cast<int>(rng.index(n_blocks + 1));
        const auto first = block_begin + at * kBlockGenes;
        const auto last = block_begin + (n_blocks + 1) * kBlockGenes;
        std::rotate(first, last - kBlockGenes, last);
        for (int f = 0; f < kBlockGenes; ++f) {
          child[block_gene(at, f)] = static_cast<int>(rng.index(cardinality_[block_gene(at, f)]));
        }
        ++child[0];
        break;
      }
      case kRemoveBlock: {
        // The removed block moves to the first inactive slot, where crossover may revive it.
        const int at = static_cast<int>(rng.index(n_blocks));
        const auto first = block_begin + at * kBlockGenes;
        std::rotate(first, first + kBlockGenes, block_begin + n_blocks * kBlockGenes);
        --child[0];
        break;
      }
      case kAddFc: {
        const int at = static_cast<int>(rng.index(n_fc + 1));
        std::rotate(fc_begin + at, fc_begin + n_fc, fc_begin + n_fc + 1);
        child[fc_gene(at)] = static_cast<int>(rng.index(cardinality_[fc_gene(at)]));
        ++child[fc_count_gene()];
        break;
      }
      case kRemoveFc: {
        const int at = static_cast<int>(rng.index(n_fc));
        std::rotate(fc_begin + at, fc_begin + at + 1, fc_begin + n_fc);
        --child[fc_count_gene()];
        break;
      }
    }
    if (decode(child) != before) return child;
  }
  return child;
}

std::pair<Genome, Genome> SearchSpace::crossover(const Genome& a, const Genome& b, Rng& rng) const {
  check(a);
  check(b);
  Genome c1 = a;
  Genome c2 = b;
  auto swap_range = [&](std::size_t first, std::size_t count) {
    if (!rng.chance(0.5)) return;
    for (std::size_t i = first; i < first + count; ++i) std::swap(c1[i], c2[i]);
  };
  swap_range(0, 1);
  for (int blk = 0; blk < options_.conv_blocks.max; ++blk) swap_range(block_gene(blk, 0), kBlockGenes);
  swap_range(fc_count_gene(), 1);
  for (int i = 0; i < options_.fc_layers.max; ++i) swap_range(fc_gene(i), 1);
  swap_range(head_gene(), 1);
  return {std::move(c1), std::move(c2)};
}

// --- encode ---------------------------------------------------------------------------------

namespace {

template <class T>
int index_of(const std::vector<T>& values, const T& value) {
  const auto it = std::find(values.begin(), values.end(), value);
  return it == values.end() ? -1 : static_cast<int>(it - values.begin());
}

}  // namespace

bool SearchSpace::encode_blocks(const Architecture& arch, std::size_t pos, Shape shape, int block,
                                Genome& g) const {
  const auto& o = options_;
  const auto& layers = arch.layers;
  // The rest of the network after the blocks: optional global pool, hidden fc layers, classifier.
  const auto encode_head = [&](std::size_t at) {
    Genome h = g;
    h[0] = block - o.conv_blocks.min;
    if (h[0] < 0) return false;
    bool global = false;
    if (at < layers.size()) {
      if (const auto* p = std::get_if<PoolLayer>(&layers[at]); p && p->global) {
        global = true;
        ++at;
      }
    }
    const int head = index_of(o.global_pool, global);
    if (head < 0) return false;
    h[head_gene()] = head;
    if (at >= layers.size()) return false;
    const std::size_t n_fc = layers.size() - at - 1;
    if (n_fc < static_cast<std::size_t>(o.fc_layers.min) || n_fc > static_cast<std::size_t>(o.fc_layers.max)) {
      return false;
    }
    h[fc_count_gene()] = static_cast<int>(n_fc) - o.fc_layers.min;
    for (std::size_t i = 0; i < n_fc; ++i) {
      const auto* fc = std::get_if<FcLayer>(&layers[at + i]);
      if (!fc) return false;
      const int units = index_of(o.fc_units, fc->units);
      if (units < 0) return false;
      h[fc_gene(static_cast<int>(i))] = units;
    }
    if (decode(h).layers != layers) return false;
    g = std::move(h);
    return true;
  };

  if (encode_head(pos)) return true;
  if (block >= o.conv_blocks.max || pos >= layers.size()) return false;
  const auto* conv = std::get_if<ConvLayer>(&layers[pos]);
  if (!conv || !conv->kernel.is_square() || !conv->stride.is_square()) return false;

  // Try the block as separable (depthwise + pointwise) and as plain; keep what decodes back.
  for (const bool separable : {true, false}) {
    const ConvLayer* main = conv;
    if (separable) {
      if (pos + 1 >= layers.size()) continue;
      main = std::get_if<ConvLayer>(&layers[pos + 1]);
      if (!main) continue;
    }
    Genome trial = g;
    const int genes[kBlockGenes] = {index_of(o.filters, main->filters), index_of(o.kernels, conv->kernel.h),
                                    index_of(o.strides, conv->stride.h), index_of(o.separable, separable),
                                    index_of(o.batch_norm, conv->batch_norm), 0};
    if (std::any_of(genes, genes + kPool, [](int i) { return i < 0; })) continue;
    for (int f = 0; f < kBlockGenes; ++f) trial[block_gene(block, f)] = genes[f];
    const std::size_t after = pos + (separable ? 2 : 1);
    const PoolLayer* pool = after < layers.size() ? std::get_if<PoolLayer>(&layers[after]) : nullptr;
    std::vector<int> pool_options;
    if (pool && !pool->global) {
      pool_options.push_back(index_of(o.pool, pool->op == PoolOp::max ? BlockPool::max : BlockPool::avg));
    }
    // No pool layer: the block chose none, or a pool that was skipped on a small map.
    pool_options.push_back(index_of(o.pool, BlockPool::none));
    for (int p = 0; p < static_cast<int>(o.pool.size()); ++p) pool_options.push_back(p);
    std::vector<std::vector<Layer>> tried;  // pools skipped on small maps all produce the same
    for (const int p : pool_options) {
      if (p < 0) continue;
      trial[block_gene(block, kPool)] = p;
      std::vector<Layer> produced;
      Shape next = shape;
      append_block(trial, block, produced, next);
      if (std::find(tried.begin(), tried.end(), produced) != tried.end()) continue;
      tried.push_back(produced);
      if (pos + produced.size() > layers.size()) continue;
      if (!std::equal(produced.begin(), produced.end(), layers.begin() + static_cast<std::ptrdiff_t>(pos))) continue;
      if (encode_blocks(arch, pos + produced.size(), next, block + 1, trial)) {
        g = std::move(trial);
        return true;
      }
    }
  }
  return false;
}

Genome SearchSpace::encode(const Architecture& arch) const {
  if (arch.input != options_.input) {
    throw std::invalid_argument("architecture input differs from the search space's input");
  }
  Genome g(genome_length(), 0);
  if (!encode_blocks(arch, 0, options_.input, 0, g)) {
    throw std::invalid_argument("architecture is not in the search space");
  }
  return g;
}

}  // namespace joules
