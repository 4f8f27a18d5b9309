#include "search/evaluation_record.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules {

std::string_view to_string(EvaluationStatus status) {
  switch (status) {
    case EvaluationStatus::ok: return "ok";
    case EvaluationStatus::failed: return "failed";
    case EvaluationStatus::infeasible: return "infeasible";
  }
  return "failed";
}

namespace {

// JSON has no inf or NaN (nlohmann would write null): a log holds only numbers it reads back.
double finite(double value, const char* key) {
  if (!std::isfinite(value)) {
    throw std::invalid_argument(fmt::format("evaluation record: '{}' is {}, not a finite number", key, value));
  }
  return value;
}

}  // namespace

nlohmann::json to_json(const EvaluationRecord& r) {
  if (r.accuracy) finite(*r.accuracy, "accuracy");
  finite(r.energy_mj, "energy_mj");
  if (r.latency_ms) finite(*r.latency_ms, "latency_ms");
  if (r.split_energy_mj) finite(*r.split_energy_mj, "split_energy_mj");
  finite(r.train_seconds, "train_seconds");
  nlohmann::json j = {{"id", r.id},
                      {"generation", r.generation},
                      {"hash", r.hash},
                      {"arch", nlohmann::json::parse(to_json(r.arch))},
                      {"status", to_string(r.status)},
                      {"accuracy", r.accuracy ? nlohmann::json(*r.accuracy) : nlohmann::json(nullptr)},
                      {"energy_mj", r.energy_mj},
                      {"macs", r.macs},
                      {"params", r.params},
                      {"train_seconds", r.train_seconds}};
  if (r.latency_ms) j["latency_ms"] = *r.latency_ms;
  if (r.split_energy_mj) j["split_energy_mj"] = *r.split_energy_mj;
  if (r.fidelity) j["fidelity"] = *r.fidelity;
  j["energy_band_mj"] = {r.energy_low_mj, r.energy_high_mj};
  if (r.latency_low_ms && r.latency_high_ms) j["latency_band_ms"] = {*r.latency_low_ms, *r.latency_high_ms};
  j["extrapolated"] = r.extrapolated;
  j["warnings"] = r.warnings;
  if (r.extrapolated) j["extrapolation"] = {{"keys", r.extrapolated_keys}, {"factor", r.extrapolation_factor}};
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.weights.empty()) j["weights"] = r.weights;
  return j;
}

EvaluationRecord evaluation_from_json(const nlohmann::json& j) {
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) throw std::invalid_argument(std::string("missing field '") + key + "'");
    return j.at(key);
  };
  try {
    EvaluationRecord r;
    r.id = need("id").get<std::int64_t>();
    r.generation = need("generation").get<int>();
    r.hash = need("hash").get<std::string>();
    try {
      r.arch = parse_architecture(need("arch").dump(), "arch");
    } catch (const InputError& e) {
      throw std::invalid_argument("field 'arch': " + e.message());
    }
    const std::string status = need("status").get<std::string>();
    if (status == "ok") {
      r.status = EvaluationStatus::ok;
    } else if (status == "failed") {
      r.status = EvaluationStatus::failed;
    } else if (status == "infeasible") {
      r.status = EvaluationStatus::infeasible;
    } else {
      throw std::invalid_argument("field 'status': unknown status '" + status + "'");
    }
    if (!need("accuracy").is_null()) r.accuracy = j.at("accuracy").get<double>();
    // Older logs hold `energy_mj: null` where an estimate overflowed (JSON has no inf); such a
    // record counts only when it was not ok (its energy was never used).
    if (need("energy_mj").is_null()) {
      if (r.status == EvaluationStatus::ok) {
        throw std::invalid_argument("field 'energy_mj': null in an ok record (a non-finite energy estimate)");
      }
    } else {
      r.energy_mj = j.at("energy_mj").get<double>();
    }
    r.macs = need("macs").get<std::int64_t>();
    r.params = need("params").get<std::int64_t>();
    r.train_seconds = need("train_seconds").get<double>();
    if (j.contains("latency_ms")) r.latency_ms = j.at("latency_ms").get<double>();
    if (j.contains("split_energy_mj")) r.split_energy_mj = j.at("split_energy_mj").get<double>();
    if (j.contains("fidelity")) r.fidelity = j.at("fidelity").get<double>();
    // Coverage fields: absent from logs written before they existed.
    if (j.contains("energy_band_mj")) {
      const auto band = j.at("energy_band_mj").get<std::vector<double>>();
      if (band.size() != 2) throw std::invalid_argument("field 'energy_band_mj': expected [low, high]");
      r.energy_low_mj = band[0];
      r.energy_high_mj = band[1];
    } else {
      r.energy_low_mj = r.energy_high_mj = r.energy_mj;
    }
    if (j.contains("latency_band_ms")) {
      const auto band = j.at("latency_band_ms").get<std::vector<double>>();
      if (band.size() != 2) throw std::invalid_argument("field 'latency_band_ms': expected [low, high]");
      r.latency_low_ms = band[0];
      r.latency_high_ms = band[1];
    }
    r.extrapolated = j.value("extrapolated", false);
    if (j.contains("warnings")) r.warnings = j.at("warnings").get<std::vector<std::string>>();
    if (j.contains("extrapolation")) {
      r.extrapolated_keys = j.at("extrapolation").at("keys").get<std::vector<std::string>>();
      r.extrapolation_factor = j.at("extrapolation").at("factor").get<double>();
    }
    if (j.contains("error")) r.error = j.at("error").get<std::string>();
    if (j.contains("weights")) r.weights = j.at("weights").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("malformed field: ") + e.what());
  }
}

}  // namespace joules
