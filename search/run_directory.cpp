#include "search/run_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "util/atomic_file.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

int lock_directory(const std::filesystem::path& dir) {
  const std::filesystem::path lock = dir / ".lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + lock.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw std::runtime_error("another joules process is using the run directory " + dir.string());
  }
  return fd;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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
    begin = end + 1;
    log.good_bytes = begin;
  }
  return log;
}

}  // namespace

RunDirectory::RunDirectory(std::filesystem::path dir, int lock_fd)
    : dir_(std::move(dir)), lock_fd_(lock_fd), append_mutex_(std::make_unique<std::mutex>()) {}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept
    : dir_(std::move(other.dir_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      append_mutex_(std::move(other.append_mutex_)),
      previous_(std::move(other.previous_)),
      repaired_bytes_(other.repaired_bytes_) {}

RunDirectory& RunDirectory::operator=(RunDirectory&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    dir_ = std::move(other.dir_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    append_mutex_ = std::move(other.append_mutex_);
    previous_ = std::move(other.previous_);
    repaired_bytes_ = other.repaired_bytes_;
  }
  return *this;
}

RunDirectory::~RunDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

RunDirectory RunDirectory::create(const std::filesystem::path& dir, const std::string& config_yaml) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create the run directory " + dir.string() + ": " + ec.message());
  RunDirectory run(dir, lock_directory(dir));
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
  RunDirectory run(dir, lock_directory(dir));
  std::filesystem::create_directories(run.weights_path());
  ParsedLog log = parse_log(run.evaluations_path());
  if (log.good_bytes < log.total_bytes) {
    std::filesystem::resize_file(run.evaluations_path(), log.good_bytes);
    run.repaired_bytes_ = log.total_bytes - log.good_bytes;
  }
  run.previous_ = std::move(log.records);
  return run;
}

void RunDirectory::append(const EvaluationRecord& record) {
  const std::string line =
      to_json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(*append_mutex_);
  append_line_durable(evaluations_path(), line);
}

void RunDirectory::write_checkpoint(const nlohmann::json& state) const {
  write_file_atomic(checkpoint_path(), state.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::optional<nlohmann::json> RunDirectory::read_checkpoint() const {
  if (!std::filesystem::exists(checkpoint_path())) return std::nullopt;
  try {
    return nlohmann::json::parse(read_text(checkpoint_path()));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("corrupt checkpoint " + checkpoint_path().string() + ": " + e.what());
  }
}

std::vector<EvaluationRecord> read_evaluations(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "config.yaml")) {
    throw InputError(dir.string(), 0, "", "is not a search run directory (no config.yaml)");
  }
  return parse_log(dir / "evaluations.jsonl").records;
}

}  // namespace joules
