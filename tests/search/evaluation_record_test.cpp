// One evaluations.jsonl line: the writer writes only what the reader reads back, extreme values
// included, and the reader takes what older writers wrote.

#include "search/evaluation_record.hpp"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "space/architecture_yaml.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

EvaluationRecord sample_record() {
  EvaluationRecord r;
  r.id = 7;
  r.generation = 2;
  r.arch = parse_architecture("input: [1, 8, 8]\nlayers:\n  - fc: {units: 3}\n", "a.yaml");
  r.hash = "00ff";
  r.accuracy = 0.5;
  r.energy_mj = 1.25;
  r.macs = 192;
  r.params = 195;
  r.train_seconds = 0.5;
  return r;
}

// Through the text of a log line, as the log holds it.
EvaluationRecord round_trip(const EvaluationRecord& r) {
  return evaluation_from_json(nlohmann::json::parse(to_json(r).dump()));
}

TEST(EvaluationRecordTest, ExtremeFiniteValuesRoundTripExactly) {
  for (const double energy : {1e222, std::numeric_limits<double>::max(), 5e-324, 0.0}) {
    EvaluationRecord r = sample_record();
    r.energy_mj = energy;
    r.latency_ms = std::numeric_limits<double>::min();
    r.train_seconds = 1e300;
    r.macs = std::numeric_limits<std::int64_t>::max();
    EXPECT_EQ(round_trip(r), r) << energy;
  }
}

TEST(EvaluationRecordTest, NonFiniteNumbersAreNeverWritten) {
  for (const double bad : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()}) {
    EvaluationRecord r = sample_record();
    r.energy_mj = bad;
    EXPECT_THAT([&] { to_json(r); },
                ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("'energy_mj' is ")));
    r = sample_record();
    r.accuracy = bad;
    EXPECT_THAT([&] { to_json(r); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("'accuracy'")));
    r = sample_record();
    r.latency_ms = bad;
    EXPECT_THAT([&] { to_json(r); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("'latency_ms'")));
  }
}

TEST(EvaluationRecordTest, ANullEnergyOfAnOlderLogReadsInAFailedRecordOnly) {
  nlohmann::json j = to_json(sample_record());
  j["status"] = "failed";
  j["accuracy"] = nullptr;
  j["error"] = "energy estimate inf";
  j["energy_mj"] = nullptr;
  const EvaluationRecord r = evaluation_from_json(j);
  EXPECT_EQ(r.status, EvaluationStatus::failed);
  EXPECT_EQ(r.energy_mj, 0.0);
  EXPECT_EQ(round_trip(r), r);

  j["status"] = "ok";
  EXPECT_THAT([&] { evaluation_from_json(j); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("field 'energy_mj': null in an ok record")));
}

}  // namespace
}  // namespace joules
