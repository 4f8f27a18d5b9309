#include "energy/model_family.hpp"

#include <algorithm>
#include <cmath>

namespace joules {
namespace {

constexpr std::array<std::string_view, kTermCount> kTermSuffixes{
    "per_mac",           "per_mac_1x1",        "per_mac_3x3s1", "per_mac_kxk",
    "per_input_element", "per_output_element", "per_weight",    "per_layer"};

constexpr std::array kSlopeTerms{Term::mac, Term::layer};
// Convolutions get a slope per kernel class; fc and pool have a single class, and an fc's
// weights are its MACs at batch 1, so they get no weight term of their own.
constexpr std::array kConvTrafficTerms{Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk, Term::input,
                                       Term::output,  Term::weight,    Term::layer};
constexpr std::array kPlainTrafficTerms{Term::mac, Term::input, Term::output, Term::layer};

Term class_term(KernelClass c) {
  switch (c) {
    case KernelClass::k1x1: return Term::mac_1x1;
    case KernelClass::k3x3s1: return Term::mac_3x3s1;
    case KernelClass::kxk: return Term::mac_kxk;
  }
  return Term::mac_kxk;
}

double padded_macs(double macs, double width, std::int64_t granularity) {
  if (granularity <= 1 || width <= 0) return macs;
  const auto g = static_cast<double>(granularity);
  return macs * (g * std::ceil(width / g)) / width;
}

double padded_macs(const LayerFeatures& layer, std::int64_t granularity) {
  return padded_macs(layer.macs, layer.width, granularity);
}

}  // namespace

std::string_view to_string(ModelFamily family) { return name_of(kModelFamilyNames, family); }

std::optional<ModelFamily> parse_model_family(std::string_view text) { return value_of(kModelFamilyNames, text); }

std::string_view to_string(Quantity quantity) {
  return quantity == Quantity::energy ? "energy" : "latency";
}

std::string_view unit_prefix(Quantity quantity) { return quantity == Quantity::energy ? "mj" : "ms"; }

std::string_view term_suffix(Term term) { return kTermSuffixes[static_cast<std::size_t>(term)]; }

std::string coefficient_key(Quantity quantity, Term term) {
  return std::string(unit_prefix(quantity)) + "_" + std::string(term_suffix(term));
}

std::optional<Term> parse_coefficient_key(Quantity quantity, std::string_view key) {
  for (std::size_t i = 0; i < kTermCount; ++i) {
    if (coefficient_key(quantity, static_cast<Term>(i)) == key) return static_cast<Term>(i);
  }
  return std::nullopt;
}

std::span<const Term> family_terms(ModelFamily family, LayerKind kind) {
  if (family != ModelFamily::traffic) return kSlopeTerms;
  if (kind == LayerKind::conv || kind == LayerKind::depthwise) return kConvTrafficTerms;
  return kPlainTrafficTerms;
}

double term_value(Term term, const LayerFeatures& layer, std::int64_t granularity) {
  switch (term) {
    case Term::mac: return padded_macs(layer, granularity);
    case Term::mac_1x1:
    case Term::mac_3x3s1:
    case Term::mac_kxk:
      return class_term(layer.kernel_class) == term ? padded_macs(layer, granularity) : 0.0;
    case Term::input: return layer.input_elements;
    case Term::output: return layer.output_elements;
    case Term::weight: return layer.weights;
    case Term::layer: return 1.0;
  }
  return 0.0;
}

double LayerModel::evaluate(const LayerFeatures& layer) const {
  // Terms the family does not use have zero coefficients, so summing all of them is exact and
  // avoids a branch per term in the search's hot loop.
  const auto& c = coefficients;
  const auto slot = [](Term t) { return static_cast<std::size_t>(t); };
  const auto terms = [&](double raw_macs, double output, KernelClass kc) {
    const double macs = padded_macs(raw_macs, layer.width, granularity);
    return (c[slot(Term::mac)] + c[slot(class_term(kc))]) * macs + c[slot(Term::input)] * layer.input_elements +
           c[slot(Term::output)] * output + c[slot(Term::weight)] * layer.weights + c[slot(Term::layer)];
  };
  double cost = terms(layer.macs, layer.output_elements, layer.kernel_class);
  if (layer.stride > 1) cost = std::min(cost, terms(layer.dense_macs, layer.dense_output_elements, layer.dense_kernel_class));
  return layer.macs > 0 ? std::max(cost, kLayerFloor) : cost;
}

std::array<std::optional<Term>, 3> complete_kernel_classes(std::array<double, kTermCount>& c,
                                                           const std::array<bool, 3>& present) {
  constexpr std::array kClasses{Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk};
  const auto at = [&](std::size_t i) -> double& { return c[static_cast<std::size_t>(kClasses[i])]; };
  std::array<std::optional<Term>, 3> donors{};
  if (std::none_of(present.begin(), present.end(), [](bool p) { return p; })) return donors;
  for (std::size_t i = 0; i < 3; ++i) {
    if (present[i]) continue;
    for (std::size_t d : {std::size_t{2}, std::size_t{0}, std::size_t{1}}) {
      if (!present[d]) continue;
      at(i) = at(d);
      donors[i] = kClasses[d];
      break;
    }
  }
  // A copied kxk slope may leave 3x3s1 outside [4/9, 16/9] kxk: bring kxk back within it
  // (the 1x1 bound kxk >= 1x1 / 4 holds whenever 3x3s1 >= 1x1 / 9, which the fit ensures).
  if (donors[2] && present[1]) at(2) = std::clamp(at(2), at(1) * 9.0 / 16, at(1) * 9.0 / 4);
  at(2) = std::max(at(2), at(0) / 4);
  return donors;
}

}  // namespace joules
