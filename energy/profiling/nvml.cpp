#include "energy/profiling/nvml.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace joules::profiling {
namespace {

// The few NVML declarations used, as in nvml.h (the header is not needed to build joules).
// nvmlReturn_t is a C enum: int-sized.
using nvmlReturn_t = int;
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr unsigned kNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using GetCountFn = nvmlReturn_t (*)(unsigned int*);
using GetHandleFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
using GetNameFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);
using GetPowerFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned int*);                 // mW
using GetEnergyFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned long long*);         // mJ
using ErrorStringFn = const char* (*)(nvmlReturn_t);

}  // namespace

struct NvmlSensor::Library {
  void* handle = nullptr;
  bool initialized = false;
  InitFn init = nullptr;
  ShutdownFn shutdown = nullptr;
  GetCountFn get_count = nullptr;
  GetHandleFn get_handle = nullptr;
  GetNameFn get_name = nullptr;        // optional
  GetPowerFn get_power = nullptr;
  GetEnergyFn get_energy = nullptr;    // optional: drivers before Volta support lack it
  ErrorStringFn error_string = nullptr;

  ~Library() {
    if (initialized) shutdown();
    if (handle) dlclose(handle);
  }

  std::string error(nvmlReturn_t rc) const {
    const char* text = error_string ? error_string(rc) : nullptr;
    return fmt::format("{} (NVML error {})", text ? text : "unknown error", rc);
  }
};

struct NvmlSensor::Gpu {
  nvmlDevice_t device = nullptr;
  bool counter = false;
  unsigned long long first_mj = 0;
};

NvmlSensor::NvmlSensor() = default;
NvmlSensor::~NvmlSensor() {
  gpus_.clear();
  library_.reset();  // nvmlShutdown, then dlclose
}

std::string nvml_library_name(const NvmlOptions& options) {
  if (!options.library.empty()) return options.library;
  if (const char* env = std::getenv("JOULES_NVML_LIBRARY"); env && *env) return env;
  return "libnvidia-ml.so.1";
}

std::unique_ptr<NvmlSensor> NvmlSensor::open(const NvmlOptions& options) {
  std::unique_ptr<NvmlSensor> sensor(new NvmlSensor());
  sensor->library_name_ = nvml_library_name(options);
  sensor->update_interval_ = options.update_interval;
  auto lib = std::make_unique<Library>();
  lib->handle = dlopen(sensor->library_name_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    const char* why = dlerror();
    throw SensorUnavailable(fmt::format(
        "cannot load NVML ({}): {}; NVML comes with the NVIDIA driver, which is not installed here "
        "(set JOULES_NVML_LIBRARY to load it from elsewhere)",
        sensor->library_name_, why ? why : "unknown error"));
  }
  auto symbol = [&](const char* name, bool required) -> void* {
    void* address = dlsym(lib->handle, name);
    if (!address && required) {
      throw SensorUnavailable(fmt::format("{} is not a usable NVML: it has no {}", sensor->library_name_, name));
    }
    return address;
  };
  lib->init = reinterpret_cast<InitFn>(symbol("nvmlInit_v2", true));
  lib->shutdown = reinterpret_cast<ShutdownFn>(symbol("nvmlShutdown", true));
  lib->get_count = reinterpret_cast<GetCountFn>(symbol("nvmlDeviceGetCount_v2", true));
  lib->get_handle = reinterpret_cast<GetHandleFn>(symbol("nvmlDeviceGetHandleByIndex_v2", true));
  lib->get_power = reinterpret_cast<GetPowerFn>(symbol("nvmlDeviceGetPowerUsage", true));
  lib->error_string = reinterpret_cast<ErrorStringFn>(symbol("nvmlErrorString", true));
  lib->get_name = reinterpret_cast<GetNameFn>(symbol("nvmlDeviceGetName", false));
  lib->get_energy = reinterpret_cast<GetEnergyFn>(symbol("nvmlDeviceGetTotalEnergyConsumption", false));

  if (const nvmlReturn_t rc = lib->init(); rc != NVML_SUCCESS) {
    throw SensorUnavailable(fmt::format("NVML found ({}) but nvmlInit_v2 failed: {}", sensor->library_name_, lib->error(rc)));
  }
  lib->initialized = true;
  unsigned int count = 0;
  if (const nvmlReturn_t rc = lib->get_count(&count); rc != NVML_SUCCESS) {
    throw SensorUnavailable(fmt::format("nvmlDeviceGetCount_v2 failed: {}", lib->error(rc)));
  }
  for (unsigned int i = 0; i < count; ++i) {
    Gpu gpu;
    if (const nvmlReturn_t rc = lib->get_handle(i, &gpu.device); rc != NVML_SUCCESS) {
      sensor->warnings_.push_back(fmt::format("skipped GPU {}: nvmlDeviceGetHandleByIndex_v2 failed: {}", i, lib->error(rc)));
      continue;
    }
    std::string name = "GPU";
    if (lib->get_name) {
      char buffer[kNameBufferSize] = {};
      if (lib->get_name(gpu.device, buffer, kNameBufferSize) == NVML_SUCCESS) name = buffer;
    }
    nvmlReturn_t energy_rc = -1;
    if (lib->get_energy) energy_rc = lib->get_energy(gpu.device, &gpu.first_mj);
    gpu.counter = energy_rc == NVML_SUCCESS;
    if (!gpu.counter) {
      unsigned int power_mw = 0;
      if (const nvmlReturn_t rc = lib->get_power(gpu.device, &power_mw); rc != NVML_SUCCESS) {
        sensor->warnings_.push_back(fmt::format("skipped GPU {} ({}): neither its energy counter nor its power can be "
                                                "read: {}",
                                                i, name, lib->error(rc)));
        continue;
      }
    }
    const std::string how = gpu.counter ? "total-energy counter" : "power polling (no energy counter)";
    sensor->rails_.push_back(RailInfo{fmt::format("gpu{}", i), /*has_power=*/!gpu.counter, /*has_energy=*/gpu.counter,
                                      /*constant=*/false, fmt::format("{}, {}", name, how)});
    sensor->gpus_.push_back(gpu);
  }
  sensor->library_ = std::move(lib);
  if (sensor->rails_.empty()) {
    throw SensorUnavailable(count == 0 ? std::string("NVML reports no GPU")
                                       : fmt::format("no GPU can report power: {}", fmt::join(sensor->warnings_, "; ")));
  }
  return sensor;
}

std::string NvmlSensor::description() const {
  std::vector<std::string> gpus;
  for (const auto& rail : rails_) gpus.push_back(rail.name + ": " + rail.location);
  return fmt::format("NVML ({}): {}", library_name_, fmt::join(gpus, "; "));
}

std::vector<std::string> NvmlSensor::total_rails() const {
  std::vector<std::string> names;
  for (const auto& rail : rails_) names.push_back(rail.name);
  return names;
}

RailReading NvmlSensor::read(std::size_t index) {
  Gpu& gpu = gpus_.at(index);
  RailReading reading;
  if (gpu.counter) {
    unsigned long long energy_mj = 0;
    if (const nvmlReturn_t rc = library_->get_energy(gpu.device, &energy_mj); rc != NVML_SUCCESS) {
      reading.error = fmt::format("nvmlDeviceGetTotalEnergyConsumption({}) failed: {}", rails_[index].name, library_->error(rc));
      return reading;
    }
    reading.energy_mj = static_cast<double>(energy_mj - gpu.first_mj);
    return reading;
  }
  unsigned int power_mw = 0;
  if (const nvmlReturn_t rc = library_->get_power(gpu.device, &power_mw); rc != NVML_SUCCESS) {
    reading.error = fmt::format("nvmlDeviceGetPowerUsage({}) failed: {}", rails_[index].name, library_->error(rc));
    return reading;
  }
  reading.power_mw = static_cast<double>(power_mw);
  return reading;
}

RailReading NvmlSensor::read_detailed(std::size_t index) {
  RailReading reading = read(index);
  if (reading.ok() && gpus_.at(index).counter) {
    unsigned int power_mw = 0;
    if (library_->get_power(gpus_[index].device, &power_mw) == NVML_SUCCESS) reading.power_mw = static_cast<double>(power_mw);
  }
  return reading;
}

}  // namespace joules::profiling
