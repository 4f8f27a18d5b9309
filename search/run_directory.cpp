#include "search/run_directory.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "energy/measurements.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A record's weights file must lie inside the run directory (export copies it): a hand-edited
// "../../etc/hostname", an absolute path or a symlink out of the run is refused.
void check_weights_path(const EvaluationRecord& r, const std::filesystem::path& log, int line) {
  if (r.weights.empty()) return;
  const std::filesystem::path dir = std::filesystem::weakly_canonical(std::filesystem::absolute(log).parent_path());
  const std::filesystem::path weights(r.weights);
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(dir / weights);
  const std::filesystem::path inside = resolved.lexically_relative(dir);
  if (weights.is_absolute() || inside.empty() || *inside.begin() == ".." || inside == ".") {
    throw InputError(log.string(), line, "weights",
                     fmt::format("'{}' resolves to {}, outside the run directory {}", r.weights, resolved.string(),
                                 dir.string()));
  }
}

// The line of `now` where it first differs from `then` (1-based), and both lines.
struct FirstDifference {
  int line = 0;
  std::string then_line;
  std::string now_line;
};

FirstDifference first_difference(const std::string& then, const std::string& now) {
  std::istringstream a(then);
  std::istringstream b(now);
  FirstDifference d;
  for (;;) {
    ++d.line;
    const bool more_a = static_cast<bool>(std::getline(a, d.then_line));
    const bool more_b = static_cast<bool>(std::getline(b, d.now_line));
    if (!more_a) d.then_line.clear();
    if (!more_b) d.now_line.clear();
    if ((!more_a && !more_b) || d.then_line != d.now_line) return d;
  }
}

// "  learning_rate: 0.01" -> "learning_rate"
std::string line_key(const std::string& line) {
  const std::size_t begin = line.find_first_not_of(" -");
  const std::size_t colon = line.find(':');
  if (begin == std::string::npos || colon == std::string::npos || colon < begin) return "";
  return line.substr(begin, colon - begin);
}

std::string state_digest(const nlohmann::json& state) {
  return fnv1a64_hex(state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

struct ParsedLog {
  std::vector<EvaluationRecord> records;
  std::size_t good_bytes = 0;  // length of the prefix made of complete, valid lines
  std::size_t total_bytes = 0;
};

// Every line but the last must be complete and valid; the last may be torn by a crash
// (no newline, or cut in the middle of its JSON).
ParsedLog parse_log(const std::filesystem::path& path) {
  ParsedLog log;
  if (!std::filesystem::exists(path)) return log;
  const std::string text = read_text(path);
  log.total_bytes = text.size();
  std::size_t begin = 0;
  int line_number = 0;
  while (begin < text.size()) {
    ++line_number;
    const std::size_t end = text.find('\n', begin);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(begin, (complete ? end : text.size()) - begin);
    const bool last = !complete || end + 1 == text.size();
    try {
      if (!complete) throw std::invalid_argument("line without its newline");
      if (!line.empty()) log.records.push_back(evaluation_from_json(nlohmann::json::parse(line)));
    } catch (const std::exception& e) {
      if (last) break;  // torn by a crash: cut off
      throw std::runtime_error(fmt::format("{}:{}: corrupt evaluation record: {}", path.string(), line_number, e.what()));
    }
    if (!line.empty()) check_weights_path(log.records.back(), path, line_number);
    begin = end + 1;
    log.good_bytes = begin;
  }
  return log;
}

}  // namespace

RunDirectory::RunDirectory(std::filesystem::path dir, DirectoryLock lock)
    : dir_(std::move(dir)), lock_(std::move(lock)), append_mutex_(std::make_unique<std::mutex>()) {}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept = default;
RunDirectory& RunDirectory::operator=(RunDirectory&& other) noexcept = default;
RunDirectory::~RunDirectory() = default;

RunDirectory RunDirectory::create(const std::filesystem::path& dir, const std::string& config_yaml) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create the run directory " + dir.string() + ": " + ec.message());
  RunDirectory run(dir, DirectoryLock::acquire(dir, "joules search"));
  if (std::filesystem::exists(run.config_path()) || std::filesystem::exists(run.evaluations_path())) {
    throw InputError(dir.string(), 0, "--out",
                     "already holds a search run: continue it with --resume or choose another --out");
  }
  std::filesystem::create_directories(run.weights_path());
  write_file_atomic(run.config_path(), config_yaml);
  write_file_atomic(run.evaluations_path(), "");
  return run;
}

RunDirectory RunDirectory::resume(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "config.yaml")) {
    throw InputError(dir.string(), 0, "--resume", "holds no search run to resume (no config.yaml)");
  }
  RunDirectory run(dir, DirectoryLock::acquire(dir, "joules search"));
  run.verify_checkpoint();
  std::filesystem::create_directories(run.weights_path());
  ParsedLog log = parse_log(run.evaluations_path());
  if (log.good_bytes < log.total_bytes) {
    std::filesystem::resize_file(run.evaluations_path(), log.good_bytes);
    run.repaired_bytes_ = log.total_bytes - log.good_bytes;
  }
  run.previous_ = std::move(log.records);
  // The rungs are a cache of trainings: a torn last line is cut off like the log's (that
  // training is done again).
  ParsedLog rungs = parse_log(run.rungs_path());
  if (rungs.good_bytes < rungs.total_bytes) std::filesystem::resize_file(run.rungs_path(), rungs.good_bytes);
  run.previous_rungs_ = std::move(rungs.records);
  const std::string text = read_text(run.evaluations_path());
  run.log_digest_.update(text);
  run.log_bytes_ = text.size();
  return run;
}

void RunDirectory::append_rung(const EvaluationRecord& record) {
  const std::string line = to_json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(*append_mutex_);
  append_line_durable(rungs_path(), line);
}

void RunDirectory::append(const EvaluationRecord& record) {
  const std::string line =
      to_json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(*append_mutex_);
  log_digest_known_ = false;  // until the line is written whole
  append_line_durable(evaluations_path(), line);
  log_digest_.update(line);
  log_digest_.update("\n");
  log_bytes_ += line.size() + 1;
  log_digest_known_ = true;
}

void RunDirectory::write_checkpoint(const nlohmann::json& state) const {
  nlohmann::json checkpoint = state;
  const std::string config = read_text(config_path());
  std::lock_guard lock(*append_mutex_);
  std::size_t log_bytes = log_bytes_;
  std::string log_digest = log_digest_.hex();
  if (!log_digest_known_) {
    const std::string log = read_text(evaluations_path());
    log_bytes = log.size();
    log_digest = fnv1a64_hex(log);
  }
  checkpoint["integrity"] = {{"config_fnv1a64", fnv1a64_hex(config)},
                             {"config_yaml", config},
                             {"log_bytes", log_bytes},
                             {"log_fnv1a64", log_digest},
                             {"state_fnv1a64", state_digest(state)}};
  write_file_atomic(checkpoint_path(), checkpoint.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::optional<nlohmann::json> RunDirectory::read_checkpoint() const {
  if (!std::filesystem::exists(checkpoint_path())) return std::nullopt;
  nlohmann::json checkpoint;
  try {
    checkpoint = nlohmann::json::parse(read_text(checkpoint_path()));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(checkpoint_path().string(), 0, "", std::string("corrupt checkpoint: ") + e.what());
  }
  if (checkpoint.is_object()) checkpoint.erase("integrity");
  return checkpoint;
}

// A checkpoint written before the digests existed has no "integrity" and is taken as it is.
void RunDirectory::verify_checkpoint() const {
  if (!std::filesystem::exists(checkpoint_path())) return;
  nlohmann::json checkpoint;
  try {
    checkpoint = nlohmann::json::parse(read_text(checkpoint_path()));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(checkpoint_path().string(), 0, "", std::string("corrupt checkpoint: ") + e.what());
  }
  if (!checkpoint.is_object() || !checkpoint.contains("integrity")) return;
  const nlohmann::json integrity = checkpoint["integrity"];
  checkpoint.erase("integrity");
  const auto field = [&](const char* key) {
    if (!integrity.is_object() || !integrity.contains(key)) {
      throw InputError(checkpoint_path().string(), 0, std::string("integrity.") + key, "missing: the checkpoint was edited");
    }
    return integrity.at(key);
  };
  if (field("state_fnv1a64") != state_digest(checkpoint)) {
    throw InputError(checkpoint_path().string(), 0, "",
                     "was edited after joules wrote it (its content does not match its digest); resuming from it "
                     "could repeat or skip evaluations: start a new run");
  }
  const std::string config = read_text(config_path());
  if (field("config_fnv1a64") != fnv1a64_hex(config)) {
    const FirstDifference d = first_difference(field("config_yaml").get<std::string>(), config);
    throw InputError(config_path().string(), d.line, line_key(d.now_line.empty() ? d.then_line : d.now_line),
                     fmt::format("differs from the config this run was started with (was '{}', now '{}'); resuming "
                                 "would mix two setups in one run: restore it or start a new run",
                                 d.then_line, d.now_line));
  }
  const std::string log = std::filesystem::exists(evaluations_path()) ? read_text(evaluations_path()) : "";
  const std::size_t logged = field("log_bytes").get<std::size_t>();
  if (log.size() < logged || fnv1a64_hex(std::string_view(log).substr(0, logged)) != field("log_fnv1a64")) {
    throw InputError(evaluations_path().string(), 0, "",
                     fmt::format("was edited since the last checkpoint (its first {} bytes are not what was logged); "
                                 "resuming would build on evaluations that did not happen: restore it or start a new run",
                                 logged));
  }
}

std::vector<EvaluationRecord> read_evaluations(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "config.yaml")) {
    throw InputError(dir.string(), 0, "", "is not a search run directory (no config.yaml)");
  }
  return parse_log(dir / "evaluations.jsonl").records;
}

}  // namespace joules
