// Calibration against an external meter: the least-squares fit, its quality figures, the file
// format and its errors.

#include "energy/profiling/calibration.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules::profiling {
namespace {

using ::testing::HasSubstr;

TEST(CalibrationTest, ExactLineIsRecovered) {
  // An internal sensor that reads 60% of the truth, 150 mW low at idle.
  std::vector<CalibrationPoint> points;
  for (double external : {2000.0, 4000.0, 7000.0, 12000.0}) points.push_back({(external - 150.0) * 0.6, external});
  const RailCalibration fit = fit_calibration("VDD_IN", points);
  EXPECT_NEAR(fit.gain, 1 / 0.6, 1e-12);
  EXPECT_NEAR(fit.offset_mw, 150.0, 1e-9);
  EXPECT_EQ(fit.points, 4u);
  EXPECT_NEAR(fit.r_squared, 1.0, 1e-12);
  EXPECT_NEAR(fit.rmse_mw, 0.0, 1e-9);
  EXPECT_NEAR(fit.apply(points[2].internal_mw), 7000.0, 1e-9);
}

TEST(CalibrationTest, NoisyPairsGiveTheLeastSquaresLineAndItsResiduals) {
  // (0, 0), (1, 1), (2, 3): slope 3/2, intercept 4/3 - 3/2 = -1/6; residuals 1/6, -1/3, 1/6.
  const std::vector<CalibrationPoint> points = {{0, 0}, {1, 1}, {2, 3}};
  const RailCalibration fit = fit_calibration("GPU", points);
  EXPECT_NEAR(fit.gain, 1.5, 1e-12);
  EXPECT_NEAR(fit.offset_mw, -1.0 / 6, 1e-12);
  EXPECT_NEAR(fit.max_abs_error_mw, 1.0 / 3, 1e-12);
  EXPECT_NEAR(fit.rmse_mw, std::sqrt((1.0 / 36 + 1.0 / 9 + 1.0 / 36) / 3), 1e-12);
  // R^2 = 1 - SSE/SST = 1 - (1/6) / (14/3)
  EXPECT_NEAR(fit.r_squared, 1.0 - (1.0 / 6) / (14.0 / 3), 1e-12);
  std::ostringstream text;
  text << fit;
  EXPECT_THAT(text.str(), HasSubstr("GPU: 1.5 x internal"));
}

TEST(CalibrationTest, UnfittablePairsAreErrorsNamingTheRail) {
  auto message = [](const std::vector<CalibrationPoint>& points) {
    try {
      fit_calibration("VDD_SOC", points);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({{100, 200}}), HasSubstr("calibration of rail VDD_SOC: needs at least 2 (internal, external) pairs, got 1"));
  EXPECT_THAT(message({{100, 200}, {100, 260}}), HasSubstr("all 2 internal readings are 100 mW"));
  EXPECT_THAT(message({{100, 500}, {200, 300}}), HasSubstr("fitted gain -2 is not positive"));
  EXPECT_THAT(message({{100, 500}, {NAN, 300}}), HasSubstr("non-finite reading"));
}

TEST(CalibrationTest, FileFitsEveryRailInOrderAndRecordsItsSource) {
  testing::TempDir dir;
  const std::string path = dir.write("calibration.csv",
                                     "rail,internal_mw,external_mw\n"
                                     "VDD_IN,1000,1600\n"
                                     "VDD_GPU,500,520\n"
                                     "VDD_IN,2000,3100\n"
                                     "VDD_GPU,1500,1520\n");
  const std::vector<RailCalibration> fits = load_calibration_file(path);
  ASSERT_EQ(fits.size(), 2u);
  EXPECT_EQ(fits[0].rail, "VDD_IN");
  EXPECT_NEAR(fits[0].gain, 1.5, 1e-12);
  EXPECT_NEAR(fits[0].offset_mw, 100.0, 1e-9);
  EXPECT_EQ(fits[1].rail, "VDD_GPU");
  EXPECT_NEAR(fits[1].gain, 1.0, 1e-12);
  EXPECT_NEAR(fits[1].offset_mw, 20.0, 1e-9);
  EXPECT_EQ(fits[0].source, path);
}

TEST(CalibrationTest, FileErrorsNameFileLineAndColumnOrRail) {
  testing::TempDir dir;
  auto error = [&](const std::string& text) {
    const std::string path = dir.write("c.csv", text);
    try {
      load_calibration_file(path);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string path = (dir.path() / "c.csv").string();
  EXPECT_THAT(error("rail,internal_mw\nVDD_IN,5\n"), HasSubstr("missing column"));
  EXPECT_THAT(error("rail,internal_mw,external_mw\nVDD_IN,1000,1600\nVDD_IN,abc,3100\n"), HasSubstr(path + ":3"));
  EXPECT_THAT(error("rail,internal_mw,external_mw\nVDD_IN,1000,1600\nVDD_IN,-5,3100\n"), HasSubstr("negative power -5 mW"));
  EXPECT_THAT(error("rail,internal_mw,external_mw\nVDD_IN,1000,1600\nVDD_GPU,1,2\nVDD_GPU,1,3\nVDD_IN,2000,3000\n"),
              HasSubstr(path + ":3: VDD_GPU: calibration of rail VDD_GPU: all 2 internal readings are 1 mW"));
  EXPECT_THAT(error("rail,internal_mw,external_mw\n"), HasSubstr("no calibration pairs"));
}

}  // namespace
}  // namespace joules::profiling
