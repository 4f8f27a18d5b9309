#pragma once
// JSON for Nsga2's state (nlohmann::json), so that a driver can checkpoint a run and resume it
// exactly. Doubles are written in their shortest round-trip form and the Rng words as unsigned
// 64-bit integers, so state -> JSON text -> state is the identity. The Decision type must itself
// convert to and from nlohmann::json (std::vector<double> and std::vector<int> do).
//
//   {"generation": 3, "rng": [w0, w1, w2, w3],
//    "population": [{"decision": ..., "objectives": [...], "violation": 0.0}, ...],
//    "batch": [decision, ...], "told": [null | {"objectives": [...], "violation": 0.0}, ...]}
//
// Reading throws nlohmann::json::exception for missing keys or wrong types; Nsga2::restore()
// then checks the sizes and values.

#include <nlohmann/json.hpp>

#include "search/evaluation.hpp"
#include "search/nsga2.hpp"

namespace joules {

inline void to_json(nlohmann::json& j, const Evaluation& e) {
  j = nlohmann::json{{"objectives", e.objectives}, {"violation", e.violation}};
}

inline void from_json(const nlohmann::json& j, Evaluation& e) {
  j.at("objectives").get_to(e.objectives);
  j.at("violation").get_to(e.violation);
}

template <class Decision>
void to_json(nlohmann::json& j, const Individual<Decision>& i) {
  j = nlohmann::json{
      {"decision", i.decision}, {"objectives", i.evaluation.objectives}, {"violation", i.evaluation.violation}};
}

template <class Decision>
void from_json(const nlohmann::json& j, Individual<Decision>& i) {
  j.at("decision").get_to(i.decision);
  from_json(j, i.evaluation);
}

template <class Decision>
void to_json(nlohmann::json& j, const Nsga2State<Decision>& s) {
  nlohmann::json told = nlohmann::json::array();
  for (const auto& t : s.told) told.push_back(t ? nlohmann::json(*t) : nlohmann::json(nullptr));
  j = nlohmann::json{{"generation", s.generation},
                     {"rng", s.rng},
                     {"population", s.population},
                     {"batch", s.batch},
                     {"told", std::move(told)}};
}

template <class Decision>
void from_json(const nlohmann::json& j, Nsga2State<Decision>& s) {
  j.at("generation").get_to(s.generation);
  j.at("rng").get_to(s.rng);
  j.at("population").get_to(s.population);
  j.at("batch").get_to(s.batch);
  s.told.clear();
  for (const auto& t : j.at("told")) {
    s.told.push_back(t.is_null() ? std::nullopt : std::optional<Evaluation>(t.get<Evaluation>()));
  }
}

}  // namespace joules
