// search/mpi_evaluator.hpp on MPI (its C API, so any MPI works; Debian's is Open MPI).
//
// Messages (tags below), all as bytes: rank 0 sends CONFIG (the resolved config text) once,
// then JOB to an idle worker, and QUIT at the end: JOB is a JSON line ({"id", "seed", "arch",
// "train_samples", "stop_at", "state"}: what the driver sets per training), '\n', then the
// bytes of the training state to continue from (search.fidelity.continue; none: from the
// start). A worker answers each JOB with RESULT: a JSON header line, '\n', the weights file's
// bytes, then the bytes of the training state it saved ("state": true in the job).
// Nobody blocks inside MPI while waiting: Open MPI's blocking calls spin a core, and ranks are
// oversubscribed on small machines, so waits poll with MPI_Iprobe and sleep with a backoff.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/mpi_evaluator.hpp"
#include "space/architecture_yaml.hpp"
#include "util/atomic_file.hpp"

namespace joules {
namespace {

using Clock = std::chrono::steady_clock;

enum Tag : int { kConfig = 1, kJob = 2, kResult = 3, kQuit = 4 };

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(fmt::format("MPI: {} failed (error {})", what, rc));
}

void send_bytes(const std::string& bytes, int to, Tag tag) {
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD), "MPI_Send");
}

std::string receive_bytes(const MPI_Status& probed) {
  int count = 0;
  check(MPI_Get_count(&probed, MPI_BYTE, &count), "MPI_Get_count");
  std::string bytes(static_cast<std::size_t>(count), '\0');
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "MPI_Recv");
  return bytes;
}

// Sleeps between polls: short right after activity (a reply is usually on its way), up to
// `max` when idle.
class Backoff {
 public:
  explicit Backoff(std::chrono::microseconds max) : max_(max) {}
  void wait() {
    std::this_thread::sleep_for(delay_);
    delay_ = std::min(delay_ * 2, max_);
  }
  void reset() { delay_ = std::chrono::microseconds(10); }

 private:
  std::chrono::microseconds max_;
  std::chrono::microseconds delay_{10};
};

// The next message from `source` with any tag, waiting as long as it takes.
MPI_Status wait_for_message(int source) {
  Backoff backoff(std::chrono::milliseconds(2));
  while (true) {
    int flag = 0;
    MPI_Status status;
    check(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag) return status;
    backoff.wait();
  }
}

std::optional<TrainStatus> parse_status(const std::string& name) {
  for (TrainStatus s : {TrainStatus::ok, TrainStatus::diverged, TrainStatus::truncated, TrainStatus::failed}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::string bytes;
  if (std::ifstream in(path, std::ios::binary); in) bytes.assign(std::istreambuf_iterator<char>(in), {});
  return bytes;
}

std::string encode_result(std::int64_t id, const TrainResult& r, const std::string& weights, const std::string& state) {
  nlohmann::json header{{"id", id},
                        {"status", to_string(r.status)},
                        {"reason", r.reason},
                        {"seconds", r.seconds},
                        {"train_seconds", r.train_seconds},
                        {"steps", r.steps},
                        {"samples_seen", r.samples_seen},
                        {"save_error", r.save_error},
                        {"weights_bytes", weights.size()},
                        {"state_bytes", state.size()}};
  header["accuracy"] = r.validation_accuracy ? nlohmann::json(*r.validation_accuracy) : nlohmann::json(nullptr);
  return header.dump() + "\n" + weights + state;
}

}  // namespace

bool mpi_built() { return true; }

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::logic_error("MpiSession: MPI is initialised already (one session per process)");
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  // Workers in the middle of sending a result would wait for rank 0 forever: exiting without
  // MPI_Finalize makes the launcher end the whole job (after the caller has said why).
  if (abort_) return;
  release_workers();
  MPI_Finalize();
}

void MpiSession::send_config(const std::string& config_yaml) {
  for (int r = 1; r < size_; ++r) send_bytes(config_yaml, r, kConfig);
}

void MpiSession::release_workers() {
  if (rank_ != 0 || released_) return;
  released_ = true;
  for (int r = 1; r < size_; ++r) send_bytes("", r, kQuit);
}

std::optional<std::string> MpiSession::receive_config() {
  const MPI_Status status = wait_for_message(0);
  std::string bytes = receive_bytes(status);
  if (status.MPI_TAG == kQuit) return std::nullopt;
  if (status.MPI_TAG != kConfig) throw std::runtime_error(fmt::format("MPI: expected the config, got tag {}", status.MPI_TAG));
  return bytes;
}

bool MpiSession::receive_job_or_quit() {
  const MPI_Status status = wait_for_message(0);
  receive_bytes(status);
  return status.MPI_TAG != kQuit;
}

void MpiSession::serve(const CandidateTrainer& trainer, const TrainOptions& training, const std::atomic<bool>* stop) {
  const std::filesystem::path temp = std::filesystem::temp_directory_path();
  const std::filesystem::path weights = temp / fmt::format("joules-rank{}-{}.pt", rank_, ::getpid());
  const std::filesystem::path resume = temp / fmt::format("joules-rank{}-{}.resume", rank_, ::getpid());
  const std::filesystem::path state = temp / fmt::format("joules-rank{}-{}.state", rank_, ::getpid());
  while (true) {
    const MPI_Status status = wait_for_message(0);
    const std::string bytes = receive_bytes(status);
    if (status.MPI_TAG == kQuit) break;
    if (status.MPI_TAG != kJob) throw std::runtime_error(fmt::format("MPI: expected a job, got tag {}", status.MPI_TAG));
    std::int64_t id = -1;
    TrainResult result;
    try {
      const std::size_t newline = bytes.find('\n');
      const nlohmann::json job = nlohmann::json::parse(bytes.substr(0, newline));
      id = job.at("id").get<std::int64_t>();
      const Architecture arch = parse_architecture(job.at("arch").get<std::string>(), fmt::format("candidate {}", id));
      TrainOptions options = training;
      options.seed = job.at("seed").get<std::uint64_t>();
      options.train_samples = job.at("train_samples").get<std::int64_t>();
      options.stop_at = job.at("stop_at").get<double>();
      options.evaluate_test = false;
      options.save_path = weights.string();
      std::filesystem::remove(weights);
      std::filesystem::remove(state);
      std::filesystem::remove(resume);
      if (newline != std::string::npos && newline + 1 < bytes.size()) {
        write_file_atomic(resume, std::string_view(bytes).substr(newline + 1));
        options.resume_path = resume.string();
      }
      if (job.at("state").get<bool>()) options.state_path = state.string();
      result = trainer(arch, options, stop);
    } catch (const std::exception& e) {
      result = TrainResult{.status = TrainStatus::failed, .reason = fmt::format("on rank {}: {}", rank_, e.what())};
    }
    const std::string file = read_bytes(weights);
    const std::string saved_state = read_bytes(state);
    for (const auto& path : {weights, state, resume}) std::filesystem::remove(path);
    send_bytes(encode_result(id, result, file, saved_state), 0, kResult);
  }
}

// Rank 0's view of the workers: which are idle, which candidate each trains, and an optional
// local slot (rank 0 training one candidate itself).
class MpiEvaluator final : public Evaluator {
 public:
  MpiEvaluator(MpiSession& session, CandidateTrainer coordinator_trainer, const std::atomic<bool>* stop)
      : session_(session) {
    for (int r = 1; r < session_.size(); ++r) idle_.insert(r);
    if (coordinator_trainer) local_ = make_local_evaluator(std::move(coordinator_trainer), 1, stop);
    slots_ = idle_.size() + (local_ ? 1 : 0);
    if (slots_ == 0) throw std::invalid_argument("MPI evaluator: one rank and search.coordinator_trains false: nobody trains");
  }

  ~MpiEvaluator() override {
    if (!save_paths_.empty()) {
      session_.abort_ = true;
      return;
    }
    // Every job's result came back, so every job was received: these complete at once.
    for (Sending& s : sending_) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
  }

  std::size_t slots() const override { return slots_; }
  std::size_t in_flight() const override { return save_paths_.size() + (local_ ? local_->in_flight() : 0); }

  void submit(TrainJob job) override {
    if (!idle_.empty()) {
      const int rank = *idle_.begin();
      idle_.erase(idle_.begin());
      const nlohmann::json message{{"id", job.id},
                                   {"seed", job.options.seed},
                                   {"arch", to_json(job.arch)},
                                   {"train_samples", job.options.train_samples},
                                   {"stop_at", job.options.stop_at},
                                   {"state", !job.options.state_path.empty()}};
      // Not MPI_Send: under oversubscription a blocking send yields the core until the
      // worker is scheduled, and rank 0 would wait on it with every job.
      sending_.emplace_back();
      Sending& s = sending_.back();
      s.bytes = message.dump() + "\n";
      if (!job.options.resume_path.empty()) {
        s.bytes += read_bytes(job.options.resume_path);
      }
      check(MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE, rank, kJob, MPI_COMM_WORLD, &s.request),
            "MPI_Isend");
      save_paths_[job.id] = {rank, job.options.save_path, job.options.state_path};
      return;
    }
    if (local_ && local_->in_flight() < local_->slots()) {
      local_->submit(std::move(job));
      return;
    }
    throw std::logic_error(fmt::format("submit: all {} MPI slots are busy", slots_));
  }

  std::optional<TrainDone> collect(std::chrono::milliseconds timeout) override {
    const auto deadline = Clock::now() + timeout;
    // Up to 2 ms between polls, as idle workers: rank 0 often shares its core with its own
    // training (coordinator_trains), and polling every 0.5 ms cost that training about 4% of
    // the core in system time; a result waits at most 2 ms for a training of seconds.
    Backoff backoff(std::chrono::milliseconds(2));
    while (true) {
      reap_sends();
      if (local_ && local_->in_flight() > 0) {
        if (auto done = local_->collect(std::chrono::milliseconds(0))) return done;
      }
      int flag = 0;
      MPI_Status status;
      check(MPI_Iprobe(MPI_ANY_SOURCE, kResult, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
      if (flag) return receive(status);
      if (Clock::now() >= deadline) return std::nullopt;
      backoff.wait();
    }
  }

 private:
  // A job on its way to a worker: its buffer lives until MPI has sent it.
  struct Sending {
    std::string bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };

  // Frees the buffers of the jobs MPI has sent.
  void reap_sends() {
    for (auto it = sending_.begin(); it != sending_.end();) {
      int done = 0;
      check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      it = done ? sending_.erase(it) : std::next(it);
    }
  }

  TrainDone receive(const MPI_Status& status) {
    const std::string bytes = receive_bytes(status);
    const std::size_t newline = bytes.find('\n');
    const nlohmann::json header = nlohmann::json::parse(bytes.substr(0, newline));
    TrainDone done{.id = header.at("id").get<std::int64_t>()};
    idle_.insert(status.MPI_SOURCE);
    const auto it = save_paths_.find(done.id);
    if (it == save_paths_.end() || it->second.rank != status.MPI_SOURCE) {
      throw std::runtime_error(fmt::format("MPI: rank {} returned candidate {}, which it was not sent",
                                           status.MPI_SOURCE, done.id));
    }
    const Destination to = it->second;
    save_paths_.erase(it);
    TrainResult& r = done.result;
    r.status = parse_status(header.at("status").get<std::string>()).value_or(TrainStatus::failed);
    r.reason = header.at("reason").get<std::string>();
    r.seconds = header.at("seconds").get<double>();
    r.train_seconds = header.at("train_seconds").get<double>();
    r.steps = header.at("steps").get<std::int64_t>();
    r.samples_seen = header.at("samples_seen").get<std::int64_t>();
    r.save_error = header.at("save_error").get<std::string>();
    if (!header.at("accuracy").is_null()) r.validation_accuracy = header.at("accuracy").get<double>();
    const std::string_view payload = std::string_view(bytes).substr(newline + 1);
    const std::size_t weights_bytes = header.at("weights_bytes").get<std::size_t>();
    const std::size_t state_bytes = header.at("state_bytes").get<std::size_t>();
    if (weights_bytes + state_bytes != payload.size()) {
      throw std::runtime_error(fmt::format("MPI: rank {} sent {} bytes after the header of candidate {}, not {} + {}",
                                           status.MPI_SOURCE, payload.size(), done.id, weights_bytes, state_bytes));
    }
    const auto store = [](const std::string& path, std::string_view content) {
      if (content.empty() || path.empty()) return;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      write_file_atomic(path, content);
    };
    try {
      store(to.weights, payload.substr(0, weights_bytes));
      store(to.state, payload.substr(weights_bytes));
    } catch (const std::exception& e) {
      r.save_error = e.what();
    }
    return done;
  }

  MpiSession& session_;
  std::set<int> idle_;  // lowest rank first, so a run hands out work in a reproducible order
  // Where a worker's files go on this rank.
  struct Destination {
    int rank = 0;
    std::string weights;  // the job's save_path
    std::string state;    // its state_path (search.fidelity.continue)
  };
  std::map<std::int64_t, Destination> save_paths_;  // in flight: id -> where its files go
  std::unique_ptr<Evaluator> local_;
  std::list<Sending> sending_;  // a list: MPI holds pointers into each buffer while it sends
  std::size_t slots_ = 0;
};

std::unique_ptr<Evaluator> MpiSession::evaluator(CandidateTrainer coordinator_trainer, const std::atomic<bool>* stop) {
  if (rank_ != 0) throw std::logic_error("MpiSession::evaluator: only on rank 0");
  return std::make_unique<MpiEvaluator>(*this, std::move(coordinator_trainer), stop);
}

}  // namespace joules
