#pragma once
// Short training runs of candidate architectures: the accuracy objective of the search.
// Torch-free on purpose: search/ and cli/ include it without paying LibTorch's compile cost.
//
// Threads. LibTorch's intra-op parallelism (OpenMP in Debian's build, used by oneDNN too)
// keeps its thread count per calling thread. train_architecture() sets it to
// TrainOptions::threads for the thread that calls it, for the duration of the call, and
// restores the previous value on return. So `threads` is the number of cores one training
// uses, and several trainings can run at once in different threads (e.g. `jobs` TBB tasks)
// each with its own count. Keep jobs x threads <= cores for the life of the process: libgomp
// keeps a pool of threads per training thread, and once it manages more threads than cores
// it stops spin-waiting between parallel regions, which makes every later multi-threaded
// training several times slower (threads = 1 creates no pool). Do not call
// at::set_num_threads() elsewhere in a process that trains concurrently.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "space/architecture.hpp"
#include "space/weights.hpp"
#include "train/data.hpp"
#include "util/compute_device.hpp"
#include "util/enum_names.hpp"

namespace joules {

enum class OptimizerKind { sgd, adam };
enum class LrSchedule {
  constant,  // the learning rate throughout
  cosine,    // cosine decay from the learning rate to 0 over the run's steps
  linear,    // linear decay from the learning rate to 0 over the run's steps
};

inline constexpr EnumNames<OptimizerKind, 2> kOptimizerNames{{{OptimizerKind::sgd, "sgd"}, {OptimizerKind::adam, "adam"}}};
inline constexpr EnumNames<LrSchedule, 3> kLrScheduleNames{
    {{LrSchedule::constant, "constant"}, {LrSchedule::cosine, "cosine"}, {LrSchedule::linear, "linear"}}};

std::string_view to_string(OptimizerKind kind);
std::string_view to_string(LrSchedule schedule);

/// Random changes to training batches (never to validation or test batches), drawn per
/// sample and epoch from the training seed. Default: none.
struct AugmentOptions {
  /// Random crop: the image is padded with this many black pixels on every side and a crop of
  /// its own size taken at a random offset (torchvision's RandomCrop(size, padding)); 0: none.
  std::int64_t crop_padding = 0;
  /// Mirror left-right with probability 1/2.
  bool horizontal_flip = false;

  bool enabled() const { return crop_padding > 0 || horizontal_flip; }
  bool operator==(const AugmentOptions&) const = default;
};

/// How one candidate is trained. Defaults: 1 epoch of the whole training split, batches of
/// 64, SGD with momentum 0.9 and learning rate 0.05 on a cosine schedule, one thread, no
/// time limit (LeNet-5: about 89% test accuracy on Fashion-MNIST in 2 epochs).
struct TrainOptions {
  /// Passes over the training samples; ignored when `steps` > 0.
  std::int64_t epochs = 1;
  /// When > 0: exactly this many batches (passes over the samples as needed).
  std::int64_t steps = 0;
  /// Training samples used: 0 means the whole training split, N the first N of it in the
  /// split's seeded order (the same N samples for every candidate of a search).
  std::int64_t train_samples = 0;
  /// Samples per step. The last incomplete batch of an epoch is dropped (the next epoch
  /// reshuffles); a batch larger than the training samples is reduced to all of them.
  std::int64_t batch_size = 64;
  OptimizerKind optimizer = OptimizerKind::sgd;
  double learning_rate = 0.05;
  LrSchedule schedule = LrSchedule::cosine;
  /// SGD momentum (PyTorch's convention, no dampening); Adam uses adam_beta1/adam_beta2.
  double momentum = 0.9;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  /// L2 penalty added to the gradient of every parameter (as PyTorch's weight_decay).
  double weight_decay = 0.0;
  /// Seeds the initial weights, the shuffling and dropout.
  std::uint64_t seed = 0;
  /// Intra-op threads of this training (see the top of this file).
  int threads = 1;
  /// Wall-time limit of training and evaluation together, in seconds; 0 means none. Training
  /// stops after the step that leaves the evaluation less than its estimated time, and the
  /// run is evaluated as it is (status truncated); evaluation checks the limit before every
  /// batch and, past it, ends without an accuracy (status truncated). Weights are saved after.
  double time_budget_s = 0.0;
  /// Where to save the trained weights (a pickled {name: tensor} dict that Python's
  /// torch.load reads); empty: not saved. Written atomically, only when status is ok or
  /// truncated.
  std::string save_path;
  /// Also measure accuracy on the test set (final evaluation only, never during a search).
  bool evaluate_test = false;
  /// Samples per batch when evaluating. Small batches measured fastest: larger ones need
  /// buffers that are mapped and faulted in afresh for every batch.
  std::int64_t eval_batch_size = 64;
  /// One point of the loss curve per this many steps (the mean training loss over them).
  std::int64_t loss_every_steps = 50;
  /// cpu, or cuda: the weights are drawn on the CPU from the seeded generator and moved, and
  /// batches are copied to the GPU; dropout masks then come from CUDA's generator, so runs with
  /// dropout are not bit-reproducible on a GPU.
  ComputeDevice device = ComputeDevice::cpu;
  /// Augmentation of the training batches (`augment: {crop_padding, horizontal_flip}`).
  AugmentOptions augment;
  /// Not config keys (set by a search's multi-fidelity, search.fidelity.continue):
  /// When in (0, 1): the run stops after that share of its steps (rounded, at least 1) and is
  /// evaluated there, status ok: a prefix of the whole run (the learning-rate schedule still
  /// spans every step). 0 or 1: the whole run.
  double stop_at = 0.0;
  /// Where to save the training state when the training loop ends as asked (weights, batch-norm
  /// statistics, optimizer buffers, dropout generator, steps done), atomically; empty: not saved.
  std::string state_path;
  /// A state saved (state_path) by a shorter prefix of this same run (architecture, options and
  /// seed): training continues from there, so that stop_at = a, then resuming to b gives
  /// the weights of stopping at b at once, bit for bit on the CPU. Empty: from the start.
  std::string resume_path;

  bool operator==(const TrainOptions&) const = default;
};

/// The keys of a config's `training:` section (TrainOptions' fields but save_path), in the
/// order to_yaml() writes them. `joules train` has a flag for each (`--batch-size`).
std::span<const std::string_view> training_option_keys();

/// Throws SpecError (key as in YAML, e.g. "batch_size") naming the bad value and the range.
void validate(const TrainOptions& options);

/// Reads the `training:` section of a config (keys as the fields above, without save_path).
/// Throws InputError naming the file, line and key.
TrainOptions parse_train_options(const yaml::Value& node);

/// Writes options as YAML that parse_train_options() reads back (save_path left out).
std::string to_yaml(const TrainOptions& options);

enum class TrainStatus {
  ok,         // trained as asked and evaluated
  diverged,   // the training loss became NaN or infinite; no accuracy
  truncated,  // stopped early (time budget or stop flag); accuracy of the weights so far
              // when evaluated (not after a stop request)
  failed,     // could not train (incompatible data, out of memory, ...); see `reason`
};

std::string_view to_string(TrainStatus status);

struct LossPoint {
  std::int64_t step = 0;  // steps done when the point was taken
  double epoch = 0.0;     // samples seen / training samples
  double loss = 0.0;      // mean training loss over the steps since the previous point

  bool operator==(const LossPoint&) const = default;
};

struct TrainResult {
  TrainStatus status = TrainStatus::failed;
  std::string reason;  // why the run is not ok; empty when ok
  /// Fraction of the validation split classified correctly, in [0, 1]; absent when the
  /// run was not evaluated (diverged, failed, stopped, or an empty validation split).
  std::optional<double> validation_accuracy;
  /// Same on the test set, only when TrainOptions::evaluate_test.
  std::optional<double> test_accuracy;
  std::vector<LossPoint> loss_curve;
  std::int64_t steps = 0;
  std::int64_t samples_seen = 0;
  double seconds = 0.0;        // wall time of the whole call
  double train_seconds = 0.0;  // wall time of the training loop alone (this call's steps)
  /// Set (status failed) when the network trained but save_path could not be written: an I/O
  /// failure of the caller's file, not of the architecture, so a search stops rather than
  /// logging the candidate as failed.
  std::string save_error;

  bool operator==(const TrainResult&) const = default;
};

/// A snapshot of a running training, for progress display.
struct TrainProgress {
  std::int64_t step = 0;
  std::int64_t total_steps = 0;
  std::int64_t epoch = 0;  // 1-based epoch in progress
  std::int64_t epochs = 0;
  std::int64_t samples_seen = 0;
  double loss = 0.0;           // mean training loss since the previous report
  double learning_rate = 0.0;  // of the last step
  double elapsed_s = 0.0;
  bool done = false;  // the last report of the training loop (evaluation follows)
};

struct TrainHooks {
  /// Called from the training thread at most every `progress_interval_s` and once when the
  /// loop ends. An exception thrown here fails the run.
  std::function<void(const TrainProgress&)> on_progress;
  double progress_interval_s = 0.25;
  /// When it becomes true the run stops after the current step, without evaluation
  /// (status truncated, reason "stopped"). Read only; may be shared by many trainings.
  const std::atomic<bool>* stop = nullptr;
};

/// Trains `arch` on `data` and evaluates it on the validation split (and the test set when
/// asked). Never throws: invalid options, an architecture that does not fit the data
/// (input shape, outputs != classes), a diverging loss, a time budget, out of memory and any
/// other error end as a result with a status and a reason. Deterministic: the same
/// architecture, data, options (seed and threads included) give the same result, whatever
/// runs in other threads. Safe to call from several threads at once (see threads above).
TrainResult train_architecture(const Architecture& arch, const Data& data, const TrainOptions& options,
                               const TrainHooks& hooks = {});

/// As train_architecture(), but starting from `initial` (e.g. a pruned network's weights,
/// which must fit `arch`) instead of a fresh initialisation: pruning's fine-tuning. The seed
/// still drives the shuffling and dropout.
TrainResult fine_tune_architecture(const Architecture& arch, const Data& data, const NetworkWeights& initial,
                                   const TrainOptions& options, const TrainHooks& hooks = {});

/// Evaluates `weights` as they are, without a training step: validation (and test, when
/// asked) accuracy, and the weights saved to `options.save_path` when given (with the data's
/// normalisation). Never throws; status ok or failed (with the reason).
TrainResult evaluate_weights(const Architecture& arch, const Data& data, const NetworkWeights& weights,
                             const TrainOptions& options);

/// Throws SpecError ("input" or "layers") when `arch` cannot be trained on `data`: its input
/// is not the data's sample shape or it does not output one value per class.
void check_compatible(const Architecture& arch, const Data& data);

/// "" or, for an image folder, " (the class folders of DIR/train)": where the classes come from.
std::string class_source(const Data& data);

/// Throws SpecError("train_samples") when `options` asks for more training samples than the
/// data's training split has, SpecError("device") for cuda where LibTorch sees no GPU.
void check_compatible(const TrainOptions& options, const Data& data);

/// Throws SpecError("device") for cuda where LibTorch sees no CUDA device.
void check_device(ComputeDevice device);

}  // namespace joules
