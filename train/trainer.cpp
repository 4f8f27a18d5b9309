#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "train/augment.hpp"
#include "train/data_tensors.hpp"
#include "train/model.hpp"
#include "train/optimizer.hpp"
#include "train/threads.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool stop_requested(const TrainHooks& hooks) {
  return hooks.stop != nullptr && hooks.stop->load(std::memory_order_relaxed);
}

double scheduled_learning_rate(const TrainOptions& o, std::int64_t step, std::int64_t total_steps) {
  const double progress = static_cast<double>(step) / static_cast<double>(total_steps);
  switch (o.schedule) {
    case LrSchedule::constant:
      return o.learning_rate;
    case LrSchedule::cosine:
      return o.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    case LrSchedule::linear:
      return o.learning_rate * (1.0 - progress);
  }
  return o.learning_rate;
}

// Fraction of `index` rows classified correctly; nullopt when a stop was requested or the
// deadline passed meanwhile (both checked before every batch).
std::optional<double> accuracy(Network& network, const Data::Tensors& data, const torch::Tensor& images,
                               const torch::Tensor& labels, const torch::Tensor& index,
                               std::int64_t batch_size, torch::Device device, const TrainHooks& hooks,
                               Clock::time_point deadline) {
  const std::int64_t n = index.size(0);
  if (n == 0) return std::nullopt;
  network->eval();
  c10::InferenceMode inference;
  std::int64_t correct = 0;
  torch::Tensor x;
  for (std::int64_t start = 0; start < n; start += batch_size) {
    if (stop_requested(hooks) || Clock::now() >= deadline) return std::nullopt;
    const torch::Tensor rows = index.narrow(0, start, std::min(batch_size, n - start));
    gather_images(data, images, rows, x);
    const torch::Tensor predicted = network->forward(x.to(device)).argmax(1).cpu();
    correct += predicted.eq(labels.index_select(0, rows)).sum().item<std::int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

void fail(TrainResult& result, std::string reason) {
  result.status = TrainStatus::failed;
  result.reason = std::move(reason);
  result.validation_accuracy.reset();
  result.test_accuracy.reset();
}

std::string error_text(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

class Trainer {
 public:
  Trainer(const Architecture& arch, const Data& data, const TrainOptions& options, const TrainHooks& hooks,
          TrainResult& result, const NetworkWeights* initial = nullptr, bool evaluate_only = false)
      : arch_(arch),
        data_(data.tensors()),
        o_(options),
        hooks_(hooks),
        result_(result),
        device_(options.device == ComputeDevice::cuda ? torch::kCUDA : torch::kCPU),
        initial_(initial),
        evaluate_only_(evaluate_only) {}

  void run() {
    Rng rng(o_.seed);
    Network network(arch_, /*seed=*/rng.split());
    if (initial_ != nullptr) set_network_weights(network, *initial_);
    if (device_.is_cuda()) network->to(device_);
    Rng shuffle_rng(rng.split());
    const std::uint64_t augment_seed = rng.split();
    FlatOptimizer optimizer(network->parameters(), o_);

    const std::int64_t samples =
        o_.train_samples > 0 ? o_.train_samples : static_cast<std::int64_t>(data_.train_order.size());
    const std::int64_t batch = std::min(o_.batch_size, samples);
    const std::int64_t steps_per_epoch = samples / batch;
    const std::int64_t total_steps = evaluate_only_ ? 0 : o_.steps > 0 ? o_.steps : o_.epochs * steps_per_epoch;
    const std::int64_t epochs = std::max<std::int64_t>(1, (total_steps + steps_per_epoch - 1) / steps_per_epoch);

    std::vector<std::int64_t> order(data_.train_order.begin(), data_.train_order.begin() + samples);
    torch::Tensor permutation = torch::empty({samples}, torch::kInt64);
    const auto shuffle = [&] {
      for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.index(i + 1)]);
      std::copy(order.begin(), order.end(), permutation.data_ptr<std::int64_t>());
    };
    const std::int64_t end_step =
        o_.stop_at > 0 && o_.stop_at < 1
            ? std::clamp<std::int64_t>(std::llround(o_.stop_at * static_cast<double>(total_steps)), 1, total_steps)
            : total_steps;
    if (!o_.resume_path.empty()) {
      restore_state(network, optimizer, total_steps, samples);
      // The epochs begun before the state was saved drew their shuffles: draw them again.
      for (std::int64_t e = 0; e < (result_.steps + steps_per_epoch - 1) / steps_per_epoch; ++e) shuffle();
      if (result_.steps > end_step) {
        throw std::runtime_error(fmt::format("the training state {} is at step {}, past the {} asked",
                                             o_.resume_path, result_.steps, end_step));
      }
    }
    torch::Tensor x;
    torch::Tensor y;
    double window_loss = 0.0;  // loss curve
    std::int64_t window_steps = 0;
    double report_loss = 0.0;  // progress reports
    std::int64_t report_steps = 0;
    auto last_report = Clock::now();
    const auto start = Clock::now();
    // The budget bounds training and evaluation together. Training stops early enough to leave
    // the evaluation its estimated time (a forward pass costs about a third of a training step
    // per sample; a whole step's time per batch is reserved, for a loaded machine's jitter);
    // evaluation stops at the deadline, without an accuracy.
    const bool budgeted = o_.time_budget_s > 0;
    const auto deadline = budgeted ? start + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(o_.time_budget_s))
                                   : Clock::time_point::max();
    const double eval_samples = static_cast<double>(data_.validation_index.size(0)) +
                                (o_.evaluate_test ? static_cast<double>(data_.test_index.size(0)) : 0.0);
    const std::int64_t first_step = result_.steps;  // > 0 when continued from a state
    const auto eval_reserve_s = [&] {
      const double step_s =
          seconds_since(start) / static_cast<double>(std::max<std::int64_t>(result_.steps - first_step, 1));
      return step_s * eval_samples / static_cast<double>(batch);
    };
    double learning_rate = o_.learning_rate;

    auto report = [&](bool done) {
      if (!hooks_.on_progress) return;
      TrainProgress p;
      p.step = result_.steps;
      p.total_steps = total_steps;
      p.epoch = std::min(epochs, result_.steps / steps_per_epoch + 1);
      p.epochs = epochs;
      p.samples_seen = result_.samples_seen;
      p.loss = report_steps > 0 ? report_loss / static_cast<double>(report_steps) : 0.0;
      p.learning_rate = learning_rate;
      p.elapsed_s = seconds_since(start);
      p.done = done;
      hooks_.on_progress(p);
      report_loss = 0.0;
      report_steps = 0;
      last_report = Clock::now();
    };
    auto close_window = [&] {
      if (window_steps == 0) return;
      result_.loss_curve.push_back(
          LossPoint{result_.steps, static_cast<double>(result_.samples_seen) / static_cast<double>(samples),
                    window_loss / static_cast<double>(window_steps)});
      window_loss = 0.0;
      window_steps = 0;
    };

    network->train();
    bool stopped = stop_requested(hooks_);
    while (!stopped && result_.steps < end_step) {
      const std::int64_t in_epoch = result_.steps % steps_per_epoch;
      if (in_epoch == 0) shuffle();
      const torch::Tensor rows = permutation.narrow(0, in_epoch * batch, batch);
      gather_images(data_, data_.images, rows, x);  // on the CPU, reusing x
      augment_batch(x, rows, /*epoch=*/result_.steps / steps_per_epoch, augment_seed, o_.augment, data_);
      y = data_.labels.index_select(0, rows);

      learning_rate = scheduled_learning_rate(o_, result_.steps, total_steps);
      optimizer.zero_grad();
      const torch::Tensor loss = device_.is_cuda()
                                     ? at::cross_entropy_loss(network->forward(x.to(device_)), y.to(device_))
                                     : at::cross_entropy_loss(network->forward(x), y);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        result_.status = TrainStatus::diverged;
        result_.reason = fmt::format("the training loss became {} at step {} of {} (epoch {})", loss_value,
                                     result_.steps + 1, total_steps, result_.steps / steps_per_epoch + 1);
        close_window();
        result_.train_seconds = seconds_since(start);
        report(/*done=*/true);
        return;
      }
      loss.backward();
      optimizer.step(learning_rate);

      ++result_.steps;
      result_.samples_seen += batch;
      window_loss += loss_value;
      report_loss += loss_value;
      ++window_steps;
      ++report_steps;
      if (window_steps == o_.loss_every_steps) close_window();
      if (hooks_.on_progress && seconds_since(last_report) >= hooks_.progress_interval_s) report(false);
      stopped = stop_requested(hooks_);
      if (budgeted && result_.steps < end_step && seconds_since(start) + eval_reserve_s() >= o_.time_budget_s) {
        result_.status = TrainStatus::truncated;
        result_.reason = fmt::format("time budget of {} s reached after {} of {} steps", o_.time_budget_s,
                                     result_.steps, total_steps);
        break;
      }
    }
    close_window();
    result_.train_seconds = seconds_since(start);
    report(/*done=*/true);
    if (!optimizer.weights_finite()) {
      result_.status = TrainStatus::diverged;
      result_.reason = fmt::format("the weights became NaN or infinite by step {}", result_.steps);
      return;
    }
    if (stopped) {
      result_.status = TrainStatus::truncated;
      result_.reason = fmt::format("stopped after {} of {} steps", result_.steps, total_steps);
      return;
    }
    if (result_.status != TrainStatus::truncated) {
      result_.status = TrainStatus::ok;
      if (!o_.state_path.empty()) {
        try {
          save_state(network, optimizer, total_steps, samples);
        } catch (const std::exception& e) {
          result_.status = TrainStatus::failed;
          result_.reason = fmt::format("trained, but saving the training state failed: {}", error_text(e));
          result_.save_error = error_text(e);
          return;
        }
      }
    }

    result_.validation_accuracy = accuracy(network, data_, data_.images, data_.labels, data_.validation_index,
                                           o_.eval_batch_size, device_, hooks_, deadline);
    if (o_.evaluate_test) {
      result_.test_accuracy = accuracy(network, data_, data_.test_images, data_.test_labels, data_.test_index,
                                       o_.eval_batch_size, device_, hooks_, deadline);
    }
    const bool out_of_time = budgeted && Clock::now() >= deadline &&
                             (!result_.validation_accuracy || (o_.evaluate_test && !result_.test_accuracy));
    if (stop_requested(hooks_) || out_of_time) {
      result_.status = TrainStatus::truncated;
      result_.reason = stop_requested(hooks_)
                           ? "stopped during evaluation"
                           : fmt::format("time budget of {} s reached during evaluation, after {} of {} steps",
                                         o_.time_budget_s, result_.steps, total_steps);
      result_.validation_accuracy.reset();
      result_.test_accuracy.reset();
      return;
    }
    if (!o_.save_path.empty()) {
      try {
        // The statistics in the units of ONNX files and torchvision: pixel values in [0, 1].
        Normalization normalization;
        for (std::size_t c = 0; c < data_.mean.size(); ++c) {
          normalization.mean.push_back(data_.mean[c] / 255.0);
          normalization.std.push_back(data_.std[c] / 255.0);
        }
        save_weights(network, o_.save_path, normalization);
      } catch (const std::exception& e) {
        result_.status = TrainStatus::failed;
        result_.reason = fmt::format("trained, but saving the weights failed: {}", error_text(e));
        result_.save_error = error_text(e);
      }
    }
  }

 private:
  // A training state file (TrainOptions::state_path): torch::save of the optimizer's state()
  // (4 tensors), the dropout generator's state, the meta tensor below, then the network's
  // buffers in order.
  static constexpr std::int64_t kStateVersion = 1;
  static constexpr std::size_t kMeta = 5;  // index of [version, steps, samples seen, run's steps, samples, seed]

  void save_state(Network& network, const FlatOptimizer& optimizer, std::int64_t total_steps, std::int64_t samples) {
    std::vector<torch::Tensor> state = optimizer.state();
    state.push_back(network->generator().get_state());
    state.push_back(torch::tensor({kStateVersion, result_.steps, result_.samples_seen, total_steps, samples,
                                   static_cast<std::int64_t>(o_.seed)},
                                  torch::kInt64));
    for (const torch::Tensor& b : network->buffers()) state.push_back(b.detach().cpu().clone());
    std::ostringstream bytes;
    torch::save(state, bytes);
    write_file_atomic(o_.state_path, bytes.str());
  }

  void restore_state(Network& network, FlatOptimizer& optimizer, std::int64_t total_steps, std::int64_t samples) {
    std::vector<torch::Tensor> state;
    try {
      torch::load(state, o_.resume_path);
    } catch (const c10::Error& e) {
      throw std::runtime_error(fmt::format("cannot read the training state {}: {}", o_.resume_path,
                                           e.what_without_backtrace()));
    }
    std::vector<torch::Tensor> buffers = network->buffers();
    bool fits = state.size() == kMeta + 1 + buffers.size() && state[kMeta].numel() == 6;
    for (std::size_t i = 0; fits && i < buffers.size(); ++i) fits = buffers[i].sizes() == state[kMeta + 1 + i].sizes();
    const std::int64_t* meta = fits ? state[kMeta].data_ptr<std::int64_t>() : nullptr;
    if (!fits || meta[0] != kStateVersion) {
      throw std::runtime_error(fmt::format("the training state {} does not fit this network", o_.resume_path));
    }
    if (meta[3] != total_steps || meta[4] != samples || meta[5] != static_cast<std::int64_t>(o_.seed)) {
      throw std::runtime_error(fmt::format("the training state {} is of another run (its steps, samples or seed differ)",
                                           o_.resume_path));
    }
    optimizer.restore({state.begin(), state.begin() + 4});
    network->generator().set_state(state[4]);
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(state[kMeta + 1 + i]);
    result_.steps = meta[1];
    result_.samples_seen = meta[2];
  }

  const Architecture& arch_;
  const Data::Tensors& data_;
  const TrainOptions& o_;
  const TrainHooks& hooks_;
  TrainResult& result_;
  const torch::Device device_;
  const NetworkWeights* initial_;  // start from these instead of a fresh initialisation
  bool evaluate_only_;             // no training step
};

TrainResult run_trainer(const Architecture& arch, const Data& data, const TrainOptions& options,
                        const TrainHooks& hooks, const NetworkWeights* initial, bool evaluate_only) {
  const auto start = Clock::now();
  TrainResult result;
  try {
    validate(options);
    check_compatible(arch, data);
    check_compatible(options, data);
    IntraOpThreads threads(options.threads);
    Trainer(arch, data, options, hooks, result, initial, evaluate_only).run();
  } catch (const SpecError& e) {
    fail(result, fmt::format("{}: {}", e.key(), e.message()));
  } catch (const std::exception& e) {
    fail(result, error_text(e));
  } catch (...) {
    fail(result, "unknown error");
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace

std::string class_source(const Data& data) {
  if (data.options().kind != DatasetKind::image_folder) return "";
  return fmt::format(" (the class folders of {}/train)", data.options().path);
}

void check_compatible(const Architecture& arch, const Data& data) {
  const NetworkAnalysis net = analyze(arch);
  const Shape in = data.input();
  if (arch.input != in) {
    throw SpecError(
        "input", fmt::format("the network takes {}x{}x{} inputs but the data's samples are {}x{}x{}",
                             arch.input.channels, arch.input.height, arch.input.width, in.channels, in.height,
                             in.width));
  }
  const std::int64_t outputs = net.output.channels * net.output.height * net.output.width;
  if (outputs != data.classes()) {
    throw SpecError(fmt::format("layers[{}]", arch.layers.size() - 1),
                    fmt::format("the network outputs {} values per sample but the data has {} classes{}",
                                outputs, data.classes(), class_source(data)));
  }
}

void check_compatible(const TrainOptions& options, const Data& data) {
  if (options.train_samples > data.train_size()) {
    throw SpecError("train_samples", fmt::format("{} is more than the {} samples of the training split",
                                                 options.train_samples, data.train_size()));
  }
  check_device(options.device);
}

void check_device(ComputeDevice device) {
  if (device == ComputeDevice::cuda && !torch::cuda::is_available()) {
    throw SpecError("device", fmt::format("cuda asked, but LibTorch {} sees no CUDA device (a CPU-only build, "
                                          "or no GPU here)", TORCH_VERSION));
  }
}

TrainResult train_architecture(const Architecture& arch, const Data& data, const TrainOptions& options,
                               const TrainHooks& hooks) {
  return run_trainer(arch, data, options, hooks, /*initial=*/nullptr, /*evaluate_only=*/false);
}

TrainResult fine_tune_architecture(const Architecture& arch, const Data& data, const NetworkWeights& initial,
                                   const TrainOptions& options, const TrainHooks& hooks) {
  return run_trainer(arch, data, options, hooks, &initial, /*evaluate_only=*/false);
}

TrainResult evaluate_weights(const Architecture& arch, const Data& data, const NetworkWeights& weights,
                             const TrainOptions& options) {
  return run_trainer(arch, data, options, /*hooks=*/{}, &weights, /*evaluate_only=*/true);
}

}  // namespace joules
