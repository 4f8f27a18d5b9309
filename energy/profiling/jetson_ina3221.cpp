#include "energy/profiling/jetson_ina3221.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "energy/profiling/sysfs_file.hpp"

namespace joules::profiling {
namespace fs = std::filesystem;

struct JetsonIna3221Sensor::Channel {
  Layout layout = Layout::hwmon;
  // L4T: in_powerN_input; hwmon: unused.
  SysfsFile power;
  SysfsFile voltage;
  SysfsFile current;
};

namespace {

// Module rules, from NVIDIA's module data sheets, L4T developer guides and jetson-stats
// (jtop/core/power.py); see docs/power-sensors.md for the sources. Order matters for model
// matching: "Orin Nano" before "Nano", "TX2 NX" before "TX2", "AGX Orin" before "Jetson-AGX".
struct ModuleRule {
  std::string_view module;
  std::vector<std::string_view> model_keys;  // any of these in the device-tree model string
  std::vector<std::string_view> signature;   // rails that identify the module on their own
  std::vector<std::string_view> total;       // summed
  std::vector<std::string_view> optional;    // added to the total when present
  std::string_view rule;
};

const std::vector<ModuleRule>& module_rules() {
  static const std::vector<ModuleRule> rules = {
      {"Jetson AGX Orin", {"AGX Orin", "p3701"}, {"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"},
       {"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"}, {},
       "AGX Orin: VDD_GPU_SOC + VDD_CPU_CV + VIN_SYS_5V0 (VDDQ_VDD2_1V8AO is fed by VIN_SYS_5V0)"},
      {"Jetson Orin NX", {"Orin NX", "p3767-0000", "p3767-0001"}, {}, {"VDD_IN"}, {}, "Orin NX: VDD_IN, the module input"},
      {"Jetson Orin Nano", {"Orin Nano", "p3767-0003", "p3767-0004", "p3767-0005"}, {}, {"VDD_IN"}, {},
       "Orin Nano: VDD_IN, the module input"},
      {"Jetson AGX Xavier", {"AGX Xavier", "Jetson-AGX", "p2888"}, {"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"},
       {"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"}, {},
       "AGX Xavier: the sum of its six rails GPU + CPU + SOC + CV + VDDRQ + SYS5V"},
      {"Jetson Xavier NX", {"Xavier NX", "p3668"}, {}, {"VDD_IN"}, {}, "Xavier NX: VDD_IN, the module input"},
      {"Jetson TX2 NX", {"TX2 NX", "p3636", "lanai"}, {}, {"VDD_IN"}, {}, "TX2 NX: VDD_IN, the module input"},
      {"Jetson TX2", {"TX2", "quill", "p3310", "p3489"}, {"VDD_SYS_GPU", "VDD_SYS_CPU"}, {"VDD_IN"}, {"VDD_MUX"},
       "TX2: VDD_IN, the module input (+ VDD_MUX, the carrier board's input, in parallel, when present)"},
      {"Jetson TX1", {"TX1", "jetson_tx1", "p2180"}, {"VDD_GPU", "VDD_CPU", "VDD_IN"}, {"VDD_IN"}, {"VDD_MUX"},
       "TX1: VDD_IN, the module input (+ VDD_MUX, the carrier board's input, in parallel, when present)"},
      {"Jetson Nano", {"Nano", "p3448"}, {"POM_5V_IN"}, {"POM_5V_IN"}, {}, "Nano: POM_5V_IN, the module input"},
  };
  return rules;
}

bool contains_ignore_case(std::string_view text, std::string_view key) {
  return std::search(text.begin(), text.end(), key.begin(), key.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

bool has_all(const std::vector<std::string>& rails, const std::vector<std::string_view>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](std::string_view w) {
    return std::find(rails.begin(), rails.end(), w) != rails.end();
  });
}

JetsonBoardTotal apply_rule(const ModuleRule& rule, const std::vector<std::string>& rails) {
  JetsonBoardTotal total{std::string(rule.module), {}, std::string(rule.rule)};
  for (auto r : rule.total) total.rails.emplace_back(r);
  for (auto r : rule.optional) {
    if (std::find(rails.begin(), rails.end(), r) != rails.end()) total.rails.emplace_back(r);
  }
  return total;
}

// Sorted directory entries (following symlinks, as sysfs driver directories are links);
// nothing when the directory cannot be listed.
std::vector<fs::path> list_directory(const fs::path& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// "rail_name_12" -> 12 for prefix "rail_name_"; "in3_label" -> 3 for prefix "in", suffix "_label".
std::optional<int> channel_number(std::string_view name, std::string_view prefix, std::string_view suffix) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  int value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::string read_model(const fs::path& root) {
  for (const char* file : {"proc/device-tree/model", "sys/firmware/devicetree/base/model"}) {
    if (auto text = read_text_file(root / file)) {
      if (!text->empty()) return *text;
    }
  }
  return {};
}

}  // namespace

JetsonBoardTotal jetson_board_total(std::string_view model, const std::vector<std::string>& rails) {
  const auto& rules = module_rules();
  if (!model.empty()) {
    for (const auto& rule : rules) {
      const bool named = std::any_of(rule.model_keys.begin(), rule.model_keys.end(),
                                     [&](std::string_view key) { return contains_ignore_case(model, key); });
      if (named && has_all(rails, rule.total)) return apply_rule(rule, rails);
      if (named) break;  // the model is known but its rails are not all there: go by the rails
    }
  }
  for (const auto& rule : rules) {
    if (!rule.signature.empty() && has_all(rails, rule.signature)) return apply_rule(rule, rails);
  }
  if (has_all(rails, {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"})) {
    return {"Jetson Xavier NX, Orin NX or Orin Nano", {"VDD_IN"},
            "Xavier NX / Orin NX / Orin Nano rails: VDD_IN, the module input"};
  }
  for (std::string_view input : {"VDD_IN", "POM_5V_IN"}) {
    if (has_all(rails, {input})) {
      JetsonBoardTotal total{"unknown Jetson module", {std::string(input)},
                             fmt::format("unknown module: {}, the module input rail", input)};
      if (input == "VDD_IN" && has_all(rails, {"VDD_MUX"})) total.rails.push_back("VDD_MUX");
      return total;
    }
  }
  return {"unknown Jetson module", rails,
          "unknown module and no input rail: the sum of all rails (rails may overlap; choose rails explicitly)"};
}

JetsonIna3221Sensor::~JetsonIna3221Sensor() = default;

std::unique_ptr<JetsonIna3221Sensor> JetsonIna3221Sensor::open(const fs::path& sysfs_root) {
  std::unique_ptr<JetsonIna3221Sensor> sensor(new JetsonIna3221Sensor());
  const fs::path i2c = sysfs_root / "sys/bus/i2c";
  std::set<std::string> names;
  std::set<fs::path> seen_directories;  // iio_device may be a link to iio:deviceN
  auto first_visit = [&](const fs::path& dir) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(dir, ec);
    return seen_directories.insert(ec ? dir : canonical).second;
  };
  auto add_rail = [&](const std::string& label, const fs::path& device, const fs::path& dir, Channel channel) {
    std::string name = label;
    // Two chips with the same label (not seen on NVIDIA boards) stay apart by their device.
    if (names.count(name)) name += "@" + device.filename().string();
    names.insert(name);
    sensor->rails_.push_back(RailInfo{name, /*has_power=*/true, /*has_energy=*/false, /*constant=*/false, dir.string()});
    sensor->channels_.push_back(std::move(channel));
  };

  // Candidate chips: the entries of both drivers' directories (links to the devices), then any
  // I2C device whose name is one of the drivers', for trees that lack the driver links. A chip
  // seen twice is read once (first_visit).
  std::vector<fs::path> devices;
  for (const char* driver : {"ina3221x", "ina3221"}) {
    for (const fs::path& device : list_directory(i2c / "drivers" / driver)) {
      if (is_dir(device)) devices.push_back(device);  // not bind, unbind, uevent
    }
  }
  for (const fs::path& device : list_directory(i2c / "devices")) {
    const auto name = read_text_file(device / "name");
    if (name && (*name == "ina3221x" || *name == "ina3221") && is_dir(device)) devices.push_back(device);
  }
  std::stable_sort(devices.begin(), devices.end(),
                   [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  for (const fs::path& device : devices) {
    // L4T: <bus>-<addr>/iio:deviceN/ (or iio_device/).
    for (const fs::path& iio : list_directory(device)) {
      const std::string dir_name = iio.filename().string();
      if (!(dir_name.starts_with("iio:device") || dir_name == "iio_device") || !is_dir(iio)) continue;
      if (!first_visit(iio)) continue;
      bool any = false;
      for (const fs::path& file : list_directory(iio)) {
        const auto n = channel_number(file.filename().string(), "rail_name_", "");
        if (!n) continue;
        std::string error;
        const auto label = read_text_file(file, &error);
        if (!label) {
          sensor->warnings_.push_back("skipped channel: " + error);
          continue;
        }
        if (label->empty() || *label == "NC") continue;
        Channel channel;
        channel.layout = Layout::l4t_iio;
        channel.power = SysfsFile(iio / fmt::format("in_power{}_input", *n));
        channel.voltage = SysfsFile(iio / fmt::format("in_voltage{}_input", *n));
        channel.current = SysfsFile(iio / fmt::format("in_current{}_input", *n));
        add_rail(*label, device, iio, std::move(channel));
        any = true;
      }
      if (any) sensor->directories_.push_back(iio.string());
    }

    // Mainline: <bus>-<addr>/hwmon/hwmonN/.
    for (const fs::path& hwmon : list_directory(device / "hwmon")) {
      if (!hwmon.filename().string().starts_with("hwmon") || !is_dir(hwmon)) continue;
      if (!first_visit(hwmon)) continue;
      bool any = false;
      for (int n = 1; n <= 3; ++n) {  // in4-in7 are shunt voltages and their sum, not rails
        const fs::path label_file = hwmon / fmt::format("in{}_label", n);
        std::string error;
        const auto label = read_text_file(label_file, &error);
        if (!label) {
          std::error_code ec;
          if (fs::exists(label_file, ec)) sensor->warnings_.push_back("skipped channel: " + error);
          continue;
        }
        if (label->empty() || *label == "NC") continue;
        if (auto enabled = read_text_file(hwmon / fmt::format("in{}_enable", n)); enabled && *enabled == "0") {
          sensor->warnings_.push_back(fmt::format("skipped {} ({}): channel disabled (in{}_enable is 0)", *label,
                                                  hwmon.string(), n));
          continue;
        }
        Channel channel;
        channel.layout = Layout::hwmon;
        channel.voltage = SysfsFile(hwmon / fmt::format("in{}_input", n));
        channel.current = SysfsFile(hwmon / fmt::format("curr{}_input", n));
        add_rail(*label, device, hwmon, std::move(channel));
        any = true;
      }
      if (!any) continue;
      sensor->directories_.push_back(hwmon.string());
      // hwmon's update_interval (ms) is the chip's full conversion cycle over its channels.
      if (auto ms = read_text_file(hwmon / "update_interval")) {
        if (auto value = parse_sysfs_integer(*ms); value && *value > 0) {
          sensor->update_interval_ = std::max(sensor->update_interval_, std::chrono::microseconds(*value * 1000));
        }
      }
    }
  }

  if (sensor->rails_.empty()) {
    std::string reason = fmt::format("no INA3221 rails under {} (looked for drivers/ina3221x/*/iio:device*/rail_name_N, "
                                     "drivers/ina3221/*/hwmon/hwmon*/inN_label and I2C devices named ina3221x or ina3221)",
                                     i2c.string());
    if (!sensor->warnings_.empty()) reason += "; " + fmt::format("{}", fmt::join(sensor->warnings_, "; "));
    throw SensorUnavailable(reason);
  }
  sensor->model_ = read_model(sysfs_root);
  std::vector<std::string> names_in_order;
  for (const auto& rail : sensor->rails_) names_in_order.push_back(rail.name);
  sensor->board_ = jetson_board_total(sensor->model_, names_in_order);
  return sensor;
}

std::string JetsonIna3221Sensor::description() const {
  const bool l4t = std::any_of(channels_.begin(), channels_.end(),
                               [](const Channel& c) { return c.layout == Layout::l4t_iio; });
  const bool hwmon = std::any_of(channels_.begin(), channels_.end(),
                                 [](const Channel& c) { return c.layout == Layout::hwmon; });
  const std::string layout = l4t && hwmon ? "L4T ina3221x and mainline hwmon ina3221"
                             : l4t        ? "L4T ina3221x (iio)"
                                          : "mainline hwmon ina3221";
  std::string text = board_.module;
  if (!model_.empty()) text += fmt::format(" (model '{}')", model_);
  return text + fmt::format(": INA3221, {}, at {}", layout, fmt::join(directories_, ", "));
}

RailReading JetsonIna3221Sensor::read(std::size_t index) {
  Channel& channel = channels_.at(index);
  RailReading reading;
  if (channel.layout == Layout::l4t_iio) {
    NumberRead power = channel.power.read_number();
    if (!power.value) {
      reading.error = std::move(power.error);
      return reading;
    }
    reading.power_mw = static_cast<double>(*power.value);
    return reading;
  }
  NumberRead voltage = channel.voltage.read_number();
  if (!voltage.value) {
    reading.error = std::move(voltage.error);
    return reading;
  }
  NumberRead current = channel.current.read_number();
  if (!current.value) {
    reading.error = std::move(current.error);
    return reading;
  }
  reading.voltage_mv = static_cast<double>(*voltage.value);
  reading.current_ma = static_cast<double>(*current.value);
  reading.power_mw = *reading.voltage_mv * *reading.current_ma / 1000.0;
  return reading;
}

RailReading JetsonIna3221Sensor::read_detailed(std::size_t index) {
  RailReading reading = read(index);
  Channel& channel = channels_.at(index);
  if (!reading.ok() || channel.layout != Layout::l4t_iio) return reading;
  // Voltage and current are extras here: a missing one leaves the power reading valid.
  if (auto v = channel.voltage.read_number(); v.value) reading.voltage_mv = static_cast<double>(*v.value);
  if (auto c = channel.current.read_number(); c.value) reading.current_ma = static_cast<double>(*c.value);
  return reading;
}

}  // namespace joules::profiling
