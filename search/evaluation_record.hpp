#pragma once
// One evaluated candidate: a line of a run's evaluations.jsonl (DESIGN.md).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "space/architecture.hpp"

namespace joules {

enum class EvaluationStatus { ok, failed, infeasible };

std::string_view to_string(EvaluationStatus status);

struct EvaluationRecord {
  std::int64_t id = 0;       // assigned in the order candidates are scheduled
  int generation = 0;
  std::string hash;          // canonical_hash_hex(arch)
  Architecture arch;
  EvaluationStatus status = EvaluationStatus::ok;
  std::optional<double> accuracy;  // validation accuracy in [0, 1]; none unless trained
  double energy_mj = 0;            // estimated energy per inference on the run's board
  std::optional<double> latency_ms;  // when the board profile models latency
  std::optional<double> split_energy_mj;  // the best split's total, when the config has search.split
  /// Coverage of the estimate (DESIGN.md): its uncertainty band, whether any layer lies
  /// outside the data the profile was fitted on, and the estimator's warnings.
  double energy_low_mj = 0;
  double energy_high_mj = 0;
  std::optional<double> latency_low_ms;
  std::optional<double> latency_high_ms;
  bool extrapolated = false;
  std::vector<std::string> warnings;
  std::vector<std::string> extrapolated_keys;  // range keys outside the data ("kind" for a fallback)
  double extrapolation_factor = 1;             // worst value / range end over the warnings (>= 1)
  std::int64_t macs = 0;
  std::int64_t params = 0;
  /// Seconds spent training it: with search.fidelity, the sum over every fidelity it was trained at.
  double train_seconds = 0;
  /// With search.fidelity: the highest fidelity it was trained at (its accuracy's), a share of
  /// training.train_samples; absent otherwise (every candidate gets the whole training).
  std::optional<double> fidelity;
  std::string error;         // why it failed or is infeasible; empty when ok
  std::string weights;       // weights file relative to the run directory; empty if none

  bool operator==(const EvaluationRecord&) const = default;
};

/// The JSON object of one evaluations.jsonl line. Throws std::invalid_argument naming the field
/// when a number is not finite (JSON cannot hold it): the log holds only what reads back.
nlohmann::json to_json(const EvaluationRecord& record);

/// Reads a record back; throws std::invalid_argument naming the missing or malformed field.
/// `energy_mj: null` (older logs) reads as 0 in a failed or infeasible record.
EvaluationRecord evaluation_from_json(const nlohmann::json& json);

}  // namespace joules
