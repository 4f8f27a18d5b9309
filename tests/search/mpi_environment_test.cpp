// How a process finds out it runs under an MPI launcher, its local rank and its GPU: from the
// environment only, so that a plain `joules search` never starts MPI.

#include "search/mpi_evaluator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

EnvironmentReader env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(MpiEnvironmentTest, LaunchersAreRecognisedByTheirVariables) {
  EXPECT_FALSE(launched_by_mpi(env_of({})));
  EXPECT_FALSE(launched_by_mpi(env_of({{"HOME", "/root"}, {"OMPI_COMM_WORLD_SIZE", ""}})));
  EXPECT_TRUE(launched_by_mpi(env_of({{"OMPI_COMM_WORLD_SIZE", "4"}})));
  EXPECT_TRUE(launched_by_mpi(env_of({{"PMI_SIZE", "2"}})));
  EXPECT_TRUE(launched_by_mpi(env_of({{"PMIX_RANK", "0"}})));
  EXPECT_TRUE(launched_by_mpi(env_of({{"SLURM_PROCID", "3"}, {"SLURM_STEP_NUM_TASKS", "8"}})));
  // An sbatch script's own shell has SLURM_PROCID but is no step of srun: a plain search.
  EXPECT_FALSE(launched_by_mpi(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}})));
}

TEST(MpiEnvironmentTest, LocalRankComesFromTheLauncher) {
  EXPECT_EQ(local_rank(env_of({})), 0);
  EXPECT_EQ(local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}})), 3);
  EXPECT_EQ(local_rank(env_of({{"SLURM_LOCALID", "5"}})), 5);
  EXPECT_EQ(local_rank(env_of({{"SLURM_LOCALID", "x"}})), 0);
}

TEST(MpiEnvironmentTest, EachRankTakesGpuLocalRankModuloTheDeviceCount) {
  testing::TempDir tmp;
  for (const char* bus : {"0000:01:00.0", "0000:41:00.0", "0000:81:00.0"}) {
    std::filesystem::create_directories(tmp.path() / "driver/nvidia/gpus" / bus);
  }
  EXPECT_EQ(gpu_for_rank(0, env_of({}), tmp.path()), "0");
  EXPECT_EQ(gpu_for_rank(2, env_of({}), tmp.path()), "2");
  EXPECT_EQ(gpu_for_rank(4, env_of({}), tmp.path()), "1");
  // Slurm (--gres) or the user may have narrowed the visible GPUs already: pick among those.
  EXPECT_EQ(gpu_for_rank(1, env_of({{"CUDA_VISIBLE_DEVICES", "4,6"}}), tmp.path()), "6");
  EXPECT_EQ(gpu_for_rank(2, env_of({{"CUDA_VISIBLE_DEVICES", "4,6"}}), tmp.path()), "4");
  EXPECT_EQ(gpu_for_rank(0, env_of({}), tmp.path() / "none"), std::nullopt);
}

}  // namespace
}  // namespace joules
