// What a profile records about the CPU, from fake /proc and device-tree files.

#include "energy/profiling/device_info.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace joules::profiling {
namespace {

using ::testing::MatchesRegex;

TEST(DeviceInfoTest, X86ModelCountAndVectorWidth) {
  testing::TempDir root;
  root.write("proc/cpuinfo",
             "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx avx2 avx512f avx512bw\n\n"
             "processor\t: 1\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx avx2 avx512f avx512bw\n");
  EXPECT_EQ(cpu_description(root.path()), "AMD EPYC 9B14, 2 logical CPUs, AVX-512");
  root.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Intel(R) Core(TM) i5\nflags\t\t: sse2 avx avx2 avx512_vnni\n");
  EXPECT_EQ(cpu_description(root.path()), "Intel(R) Core(TM) i5, 1 logical CPU, AVX2");
}

TEST(DeviceInfoTest, JetsonNamesTheBoardAndItsArmCores) {
  testing::TempDir root;
  root.write("proc/cpuinfo",
             "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n\n"
             "processor\t: 1\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n");
  root.write("proc/device-tree/model", std::string("NVIDIA Jetson Nano Developer Kit") + '\0');
  EXPECT_EQ(cpu_description(root.path()),
            "NVIDIA Jetson Nano Developer Kit: ARM CPU (implementer 0x41, part 0xd07), 2 logical CPUs, NEON");
}

TEST(DeviceInfoTest, MissingCpuinfoIsUnknownNotAnError) {
  testing::TempDir root;
  EXPECT_EQ(cpu_description(root.path()), "unknown CPU");
  EXPECT_THAT(utc_timestamp(), MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z"));
}

}  // namespace
}  // namespace joules::profiling
