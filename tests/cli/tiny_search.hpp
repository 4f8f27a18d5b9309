#pragma once
// A search small enough to run in seconds (18 candidates of 384 Fashion-MNIST training samples),
// and readers of what it leaves, for the CLI tests of `joules search` and `joules export`.

#include <filesystem>
#include <map>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace joules::testing {

// Small enough that a whole search takes seconds: 18 candidates of 384 training samples.
inline std::string tiny_config(const std::string& extra = "") {
  return std::string(R"(name: tiny
seed: 3
board: )") + JOULES_SOURCE_DIR + R"(/profiles/jetson-nano.yaml
space:
  input: [1, 28, 28]
  classes: 10
  conv_blocks:
    count: {min: 1, max: 2}
    filters: [4, 8]
    kernel: [3, 5]
    stride: [1, 2]
    pool: [none, max]
  fc_layers:
    count: {min: 0, max: 1}
    units: [16]
data:
  validation_size: 500
training:
  train_samples: 384
  batch_size: 64
  optimizer: adam
  learning_rate: 0.003
search:
  population: 6
  generations: 2
  jobs: 2
  budgets: {params: 30000}
)" + extra;
}

// tiny_config() with `lines` added to its search section and `generations` instead of 2.
inline std::string tiny_config_with(const std::string& lines, int generations = 2) {
  std::string text = tiny_config();
  text.replace(text.find("  generations: 2\n"), 16, "  generations: " + std::to_string(generations) + "\n");
  text.insert(text.find("  population: 6\n"), lines);
  return text;
}

inline bool have_data() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); }

inline std::vector<nlohmann::json> read_log(const std::filesystem::path& run) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run / "evaluations.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::size_t line_count(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// id -> (hash, status, accuracy): what a run found, timings aside.
inline std::map<int, std::string> findings(const std::filesystem::path& run) {
  std::map<int, std::string> out;
  for (const auto& j : read_log(run)) {
    out[j["id"].get<int>()] = j["hash"].get<std::string>() + " " + j["status"].get<std::string>() + " " + j["accuracy"].dump();
  }
  return out;
}

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace joules::testing
