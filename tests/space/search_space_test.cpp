#include "space/search_space.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

constexpr int kProperties = 10000;

class SearchSpaceTest : public ::testing::Test {
 protected:
  SearchSpace space{load_search_space(std::string(JOULES_SOURCE_DIR) + "/configs/spaces/fashion-mnist.yaml")};
};

// Valid: analyze() accepts it, and it has the space's input and classifier.
void expect_valid(const SearchSpace& space, const Genome& g) {
  ASSERT_NO_THROW(space.check(g));
  const Architecture a = space.decode(g);
  ASSERT_NO_THROW(analyze(a)) << to_yaml(a);
  EXPECT_EQ(a.input, space.options().input);
  const auto& last = std::get<FcLayer>(a.layers.back());
  EXPECT_EQ(last.units, space.options().classes);
  EXPECT_EQ(last.activation, Activation::none);
}

TEST_F(SearchSpaceTest, ShippedSpaceReadsAsWritten) {
  const SearchSpaceOptions& o = space.options();
  EXPECT_EQ(o.input, (Shape{1, 28, 28}));
  EXPECT_EQ(o.classes, 10);
  EXPECT_EQ(o.conv_blocks, (CountRange{1, 4}));
  EXPECT_EQ(o.filters.size(), 8u);
  EXPECT_EQ(o.pool.size(), 3u);
  EXPECT_EQ(o.global_pool, (std::vector<bool>{false, true}));
  EXPECT_EQ(space.genome_length(), 1u + 4 * 6 + 1 + 2 + 1);
}

// The surrogate's description: one architecture, one description (whatever its inactive genes
// hold); two architectures, two; the same length throughout.
TEST_F(SearchSpaceTest, FeaturesDescribeTheArchitectureNotTheInactiveGenes) {
  Rng rng(12);
  std::map<std::string, std::vector<double>> by_hash;
  std::set<std::vector<double>> descriptions;
  std::size_t length = 0;
  for (int i = 0; i < 500; ++i) {
    const Genome g = space.sample(rng);
    const Architecture a = space.decode(g);
    const std::vector<double> x = space.features(space.encode(a));
    if (length == 0) length = x.size();
    EXPECT_EQ(x.size(), length);
    for (double v : x) EXPECT_TRUE(v == 0.0 || v == 1.0);
    const auto [it, inserted] = by_hash.emplace(canonical_hash_hex(a), x);
    if (!inserted) EXPECT_EQ(it->second, x);
    descriptions.insert(x);
  }
  EXPECT_EQ(descriptions.size(), by_hash.size());
  EXPECT_THROW(space.features(Genome{1, 2}), std::invalid_argument);
}

TEST_F(SearchSpaceTest, OptionsRoundTripThroughYaml) {
  const std::string text = to_yaml(space.options());
  EXPECT_EQ(parse_search_space(yaml::Value::parse_string(text, "written.yaml")), space.options()) << text;
}

TEST_F(SearchSpaceTest, SamplesAreValidAndDeterministic) {
  Rng rng(1234);
  Rng again(1234);
  std::set<std::uint64_t> distinct;
  for (int i = 0; i < kProperties; ++i) {
    const Genome g = space.sample(rng);
    ASSERT_EQ(g, space.sample(again));
    expect_valid(space, g);
    distinct.insert(canonical_hash(space.decode(g)));
  }
  // The space holds millions of networks: samples should rarely repeat.
  EXPECT_GT(distinct.size(), kProperties * 9 / 10);
}

TEST_F(SearchSpaceTest, SamplesCoverEveryBlockCountAndChoice) {
  Rng rng(7);
  std::set<std::size_t> layer_counts;
  bool separable = false;
  bool pooled = false;
  bool global = false;
  for (int i = 0; i < 2000; ++i) {
    const Architecture a = space.sample_architecture(rng);
    layer_counts.insert(a.layers.size());
    for (const Layer& l : a.layers) {
      if (const auto* c = std::get_if<ConvLayer>(&l); c && c->groups > 1) separable = true;
      if (const auto* p = std::get_if<PoolLayer>(&l)) (p->global ? global : pooled) = true;
    }
  }
  EXPECT_TRUE(separable);
  EXPECT_TRUE(pooled);
  EXPECT_TRUE(global);
  EXPECT_GT(layer_counts.size(), 8u);
}

TEST_F(SearchSpaceTest, MutationsAreValidDifferentAndDeterministic) {
  Rng rng(99);
  Rng replay(99);
  Genome g = space.sample(rng);
  Genome h = space.sample(replay);
  ASSERT_EQ(g, h);
  int blocks_changed = 0;
  for (int i = 0; i < kProperties; ++i) {
    const Genome child = space.mutate(g, rng);
    ASSERT_EQ(child, space.mutate(h, replay)) << "same seed, same mutation";
    expect_valid(space, child);
    EXPECT_NE(space.decode(child), space.decode(g)) << "a mutation changes the network";
    if (child[0] != g[0]) ++blocks_changed;
    g = child;
    h = child;
  }
  EXPECT_GT(blocks_changed, kProperties / 20) << "blocks are added and removed, not only changed";
}

TEST_F(SearchSpaceTest, CrossoversAreValidDeterministicAndMixTheParents) {
  Rng rng(5);
  Rng replay(5);
  for (int i = 0; i < kProperties; ++i) {
    const Genome a = space.sample(rng);
    const Genome b = space.sample(rng);
    ASSERT_EQ(a, space.sample(replay));
    ASSERT_EQ(b, space.sample(replay));
    const auto [c1, c2] = space.crossover(a, b, rng);
    ASSERT_EQ(space.crossover(a, b, replay), std::make_pair(c1, c2));
    expect_valid(space, c1);
    expect_valid(space, c2);
    // Complementary: every gene of each child comes from one parent, the other child gets the other.
    for (std::size_t j = 0; j < a.size(); ++j) {
      ASSERT_TRUE((c1[j] == a[j] && c2[j] == b[j]) || (c1[j] == b[j] && c2[j] == a[j]));
    }
  }
}

TEST_F(SearchSpaceTest, EncodeInvertsDecode) {
  Rng rng(42);
  for (int i = 0; i < kProperties; ++i) {
    const Architecture a = space.sample_architecture(rng);
    const Genome g = space.encode(a);
    ASSERT_EQ(space.decode(g), a) << to_yaml(a);
  }
}

TEST_F(SearchSpaceTest, EncodeRejectsArchitecturesOutsideTheSpace) {
  const Architecture lenet = load_architecture(std::string(JOULES_SOURCE_DIR) + "/configs/architectures/lenet5.yaml");
  // No padding on its 2nd conv.
  EXPECT_THAT([&] { space.encode(lenet); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("architecture is not in the search space")));
  Rng rng(1);
  Architecture other_input = space.sample_architecture(rng);
  other_input.input.height = 32;
  EXPECT_THAT([&] { space.encode(other_input); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("architecture input differs from the search space's input")));
}

TEST_F(SearchSpaceTest, DecodeRejectsMalformedGenomes) {
  Genome g(space.genome_length(), 0);
  EXPECT_NO_THROW(space.decode(g));
  g[1] = 99;
  EXPECT_THAT([&] { space.decode(g); }, ::testing::ThrowsMessage<std::invalid_argument>(::testing::HasSubstr(
                                             "gene 1 is 99, expected a value in [0, ")));
  EXPECT_THAT([&] { space.decode(Genome{0, 1}); },
              ::testing::ThrowsMessage<std::invalid_argument>(::testing::HasSubstr(
                  "genome has 2 genes, this search space needs " + std::to_string(space.genome_length()))));
}

TEST(SearchSpaceEdgeTest, TinyInputsSkipPoolingAndStayValid) {
  // 3x3 input, up to 6 blocks with stride 2 and pooling: maps shrink to 1x1 quickly.
  SearchSpaceOptions o;
  o.input = {3, 3, 3};
  o.conv_blocks = {1, 6};
  o.strides = {1, 2};
  o.pool = {BlockPool::max, BlockPool::avg};
  o.pool_kernel = 3;
  o.separable = {false, true};
  o.fc_layers = {0, 0};
  o.fc_units = {};
  SearchSpace space(o);
  Rng rng(3);
  Genome g = space.sample(rng);
  for (int i = 0; i < 3000; ++i) {
    expect_valid(space, g);
    const Architecture a = space.decode(g);
    ASSERT_EQ(space.decode(space.encode(a)), a);
    g = i % 2 ? space.mutate(g, rng) : space.crossover(g, space.sample(rng), rng).first;
  }
}

TEST(SearchSpaceEdgeTest, SingleNetworkSpaceMutatesToItself) {
  SearchSpaceOptions o;
  o.conv_blocks = {1, 1};
  o.filters = {8};
  o.kernels = {3};
  o.pool = {BlockPool::none};
  o.fc_layers = {0, 0};
  SearchSpace space(o);
  Rng rng(1);
  const Genome g = space.sample(rng);
  EXPECT_EQ(space.decode(space.mutate(g, rng)), space.decode(g));
}

InputError space_error(const std::string& text) {
  try {
    parse_search_space(yaml::Value::parse_string(text, "space.yaml"));
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError for:\n" << text;
  return InputError("", 0, "", "");
}

TEST(SearchSpaceYamlTest, ErrorsNameFileLineAndKey) {
  InputError e = space_error("input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  filters: [8, 0]\n");
  EXPECT_EQ(e.line(), 4);
  EXPECT_EQ(e.key(), "conv_blocks.filters[1]");
  EXPECT_THAT(e.message(), HasSubstr("must be in [1,"));

  e = space_error("input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  count: {min: 3, max: 2}\n");
  EXPECT_EQ(e.line(), 4);
  EXPECT_EQ(e.key(), "conv_blocks.count");
  EXPECT_THAT(e.message(), HasSubstr("larger than max"));

  e = space_error("input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  kernels: [3]\n");
  EXPECT_EQ(e.key(), "conv_blocks.kernels");
  EXPECT_THAT(e.message(), HasSubstr("unknown key"));

  e = space_error("input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  kernel: [3, 3]\n");
  EXPECT_EQ(e.key(), "conv_blocks.kernel[1]");
  EXPECT_THAT(e.message(), HasSubstr("duplicate"));

  e = space_error("input: [1, 28, 28]\n");
  EXPECT_THAT(e.message(), HasSubstr("missing required key 'classes'"));

  e = space_error("input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  pool: [none, sum]\n");
  EXPECT_EQ(e.key(), "conv_blocks.pool[1]");

  e = space_error("input: [1, 28, 28]\nclasses: 10\nfc_layers:\n  units: []\n");
  EXPECT_EQ(e.key(), "fc_layers.units");
  EXPECT_THAT(e.message(), HasSubstr("at least one choice"));

  e = space_error("input: [3, 100000, 100000]\nclasses: 10\nconv_blocks:\n  filters: [2000000000]\n");
  EXPECT_THAT(e.message(), HasSubstr("largest network"));
}

TEST(SearchSpaceLimitsTest, AChoiceListLongerThanTheLimitIsRefusedWithItsLine) {
  std::string filters;
  for (std::size_t i = 1; i <= kMaxChoices + 1; ++i) filters += (i > 1 ? ", " : "") + std::to_string(i);
  const std::string text = "input: [1, 28, 28]\nclasses: 10\nconv_blocks:\n  count: 1\n  filters: [" + filters + "]\n";
  EXPECT_THAT([&] { parse_search_space(yaml::Value::parse_string(text, "space.yaml")); },
              ::testing::ThrowsMessage<InputError>(::testing::StrEq(
                  "space.yaml:5: conv_blocks.filters: at most 256 choices, got 257")));
  SearchSpaceOptions options;
  options.fc_units.resize(kMaxChoices + 1);
  for (std::size_t i = 0; i < options.fc_units.size(); ++i) options.fc_units[i] = static_cast<std::int64_t>(i + 1);
  EXPECT_THAT([&] { SearchSpace{options}; },
              ::testing::ThrowsMessage<SpecError>(HasSubstr("fc_layers.units: at most 256 choices, got 257")));
}

}  // namespace
// Every architecture once, in a space small enough to count by hand.
TEST(SearchSpaceEnumerateTest, ListsEveryDistinctArchitectureOnceInAFixedOrder) {
  const SearchSpace space(parse_search_space(yaml::Value::parse_string(R"(input: [1, 8, 8]
classes: 3
conv_blocks:
  count: {min: 1, max: 1}
  filters: [4, 8]
  kernel: [3]
  stride: [1]
  separable: [false]
  batch_norm: [false]
  pool: [none, max]
fc_layers:
  count: {min: 0, max: 1}
  units: [16]
global_pool: [false]
)", "tiny.yaml")));
  const auto members = space.enumerate(100);
  ASSERT_TRUE(members.has_value());
  // 2 filters x 2 pools x (no hidden fc, or one of 16 units).
  ASSERT_EQ(members->size(), 8u);
  std::set<std::string> hashes;
  for (std::size_t i = 0; i < members->size(); ++i) {
    const auto& [genome, arch] = (*members)[i];
    EXPECT_EQ(arch.name, "member-" + std::to_string(i + 1));
    EXPECT_EQ(canonical_hash_hex(space.decode(genome)), canonical_hash_hex(arch));
    hashes.insert(canonical_hash_hex(arch));
  }
  EXPECT_EQ(hashes.size(), 8u);
  // The first member: counts and choices at their first values.
  EXPECT_EQ(std::get<ConvLayer>(members->front().second.layers[0]).filters, 4);
  EXPECT_EQ(members->front().second.layers.size(), 2u);  // conv, classifier
  EXPECT_FALSE(space.enumerate(7).has_value()) << "more than the limit";
  ASSERT_TRUE(space.enumerate(8).has_value());
}

// Every member of a sample is in the list: nothing the search can reach is left out.
TEST(SearchSpaceEnumerateTest, TheBenchmarkSpaceHoldsOneToThreeThousandAndEverySampleIsListed) {
  const SearchSpace space(load_search_space(std::string(JOULES_SOURCE_DIR) + "/configs/spaces/table.yaml"));
  const auto members = space.enumerate(100000);
  ASSERT_TRUE(members.has_value());
  EXPECT_GE(members->size(), 1000u);
  EXPECT_LE(members->size(), 3000u);
  std::set<std::string> listed;
  for (const auto& [genome, arch] : *members) listed.insert(canonical_hash_hex(arch));
  EXPECT_EQ(listed.size(), members->size());
  Rng rng(3);
  for (int i = 0; i < 2000; ++i) {
    const Architecture a = space.sample_architecture(rng);
    EXPECT_TRUE(listed.contains(canonical_hash_hex(a))) << to_yaml(a);
  }
}

}  // namespace joules
