// The parts of search/mpi_evaluator.hpp that need no MPI: how this process was launched.

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "search/mpi_evaluator.hpp"

namespace joules {
namespace {

bool set(const EnvironmentReader& env, const char* name) {
  const char* value = env(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

bool launched_by_mpi(const EnvironmentReader& env) {
  return set(env, "OMPI_COMM_WORLD_SIZE") || set(env, "PMI_SIZE") || set(env, "PMIX_RANK") ||
         (set(env, "SLURM_PROCID") && set(env, "SLURM_STEP_NUM_TASKS"));
}

int local_rank(const EnvironmentReader& env) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMIX_LOCAL_RANK", "SLURM_LOCALID"}) {
    if (!set(env, name)) continue;
    char* end = nullptr;
    const long value = std::strtol(env(name), &end, 10);
    if (*end == '\0' && value >= 0) return static_cast<int>(value);
  }
  return 0;
}

std::optional<std::string> gpu_for_rank(int rank, const EnvironmentReader& env, const std::filesystem::path& proc_root) {
  std::vector<std::string> gpus;
  if (const char* visible = env("CUDA_VISIBLE_DEVICES"); visible != nullptr) {
    std::string list = visible;
    std::size_t begin = 0;
    while (begin <= list.size()) {
      const std::size_t end = std::min(list.find(',', begin), list.size());
      if (end > begin) gpus.push_back(list.substr(begin, end - begin));
      begin = end + 1;
    }
  } else {
    std::error_code ec;
    std::size_t count = 0;
    for (auto it = std::filesystem::directory_iterator(proc_root / "driver/nvidia/gpus", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++count;
    }
    for (std::size_t i = 0; i < count; ++i) gpus.push_back(std::to_string(i));
  }
  if (gpus.empty()) return std::nullopt;
  return gpus[static_cast<std::size_t>(rank) % gpus.size()];
}

}  // namespace joules
