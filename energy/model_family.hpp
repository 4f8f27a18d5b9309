#pragma once
// The families of per-layer models: each writes a layer's energy (or latency) as a
// non-negative combination of a few physical terms of the layer, so that fitting is a
// (non-negative, relative-error) least-squares problem and a network's cost is the sum of its
// layers'. A closed set of families (an enum, not an interface): models are plain values read
// from and written to board profiles, and evaluated in the search's hot loop.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "energy/layer_features.hpp"

namespace joules {

enum class ModelFamily {
  /// E = a * MACs + b (the paper's fc model, with a per-layer constant).
  linear,
  /// E = a * MACs * (g * ceil(F / g)) / F + b: the paper's conv model, F the filters (units,
  /// channels) and g the hardware's scheduling granularity.
  stairs,
  /// One stairs slope per kernel class (1x1, 3x3 stride 1, other), plus the memory traffic of
  /// input and output activations and of the weights, plus a per-layer constant (the launch
  /// cost and poor utilisation of small layers).
  traffic,
};
inline constexpr std::array<ModelFamily, 3> kModelFamilies{ModelFamily::linear, ModelFamily::stairs,
                                                            ModelFamily::traffic};

inline constexpr EnumNames<ModelFamily, 3> kModelFamilyNames{
    {{ModelFamily::linear, "linear"}, {ModelFamily::stairs, "stairs"}, {ModelFamily::traffic, "traffic"}}};
std::string_view to_string(ModelFamily family);
std::optional<ModelFamily> parse_model_family(std::string_view text);

/// What a model predicts; sets the unit of its coefficients.
enum class Quantity { energy, latency };
std::string_view to_string(Quantity quantity);  // "energy", "latency"
std::string_view unit_prefix(Quantity quantity);  // "mj", "ms"

/// The terms a family may combine; a coefficient per term.
enum class Term { mac, mac_1x1, mac_3x3s1, mac_kxk, input, output, weight, layer };
inline constexpr std::size_t kTermCount = 8;

/// "per_mac", "per_mac_1x1", "per_mac_3x3s1", "per_mac_kxk", "per_input_element",
/// "per_output_element", "per_weight", "per_layer"; the profile key is the quantity's unit
/// prefix and this ("mj_per_mac").
std::string_view term_suffix(Term term);
std::string coefficient_key(Quantity quantity, Term term);
std::optional<Term> parse_coefficient_key(Quantity quantity, std::string_view key);

/// The terms a family uses for a layer kind, in a fixed order.
std::span<const Term> family_terms(ModelFamily family, LayerKind kind);

/// The value of a term for a layer: the MAC terms pad the width to the granularity (only
/// stairs and traffic; a MAC-class term is zero for layers of another class).
double term_value(Term term, const LayerFeatures& layer, std::int64_t granularity);

/// The smallest cost (mJ or ms) of a layer that does any work (MACs > 0): a kernel launch is
/// never free, whatever a fit's coefficients say.
inline constexpr double kLayerFloor = 1e-6;

/// The kernel-class slopes (per MAC of 1x1, 3x3 stride 1 and other kernels, in Term order) a
/// fit may give a conv: non-negative combinations of these generators, so that growing a
/// kernel (1x1 -> 2x2 -> 3x3 -> 4x4 at the same output) never lowers a layer's cost:
/// kxk >= 1x1 / 4 and 4/9 kxk <= 3x3s1 <= 16/9 kxk.
inline constexpr std::array<std::array<double, 3>, 3> kKernelClassGenerators{
    {{0.0, 4.0 / 9, 1.0}, {0.0, 16.0 / 9, 1.0}, {1.0, 1.0 / 9, 0.25}}};

/// Completes the kernel-class slopes of `model` where the data held no layer of a class
/// (present[c] false, in Term order 1x1, 3x3s1, kxk): such a class copies kxk, else 1x1,
/// else 3x3s1, kept within the ordering above. Returns the donor per class (nullopt: kept).
std::array<std::optional<Term>, 3> complete_kernel_classes(std::array<double, kTermCount>& coefficients,
                                                           const std::array<bool, 3>& present);

/// The granularities a fit tries by default (the paper's stairs candidates).
inline constexpr std::array<std::int64_t, 6> kDefaultGranularities{1, 8, 16, 32, 64, 128};

/// A fitted model of one quantity for one layer kind. Plain value.
struct LayerModel {
  ModelFamily family = ModelFamily::linear;
  std::int64_t granularity = 1;  // linear: always 1
  std::array<double, kTermCount> coefficients{};  // terms the family does not use are 0

  /// Energy (mJ) or latency (ms) of a layer of this model's kind: the fitted terms, never more
  /// for a strided layer than for the same layer at stride 1, never below kLayerFloor for a
  /// layer with MACs.
  double evaluate(const LayerFeatures& layer) const;

  bool operator==(const LayerModel&) const = default;
};

}  // namespace joules
