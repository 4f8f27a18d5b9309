// A stand-in for libnvidia-ml.so with the few entry points joules uses and values the tests
// control, so that the NVML sensor's dlopen path runs on machines without a GPU. Global state
// is the point here: it plays the driver. Configuration comes from the environment when
// nvmlInit_v2 is called (for tests that run the joules binary) or from fake_nvml_configure /
// fake_nvml_set_energy_mj (for tests that load the library in-process).

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {

typedef int nvmlReturn_t;
struct nvmlDevice_st {
  unsigned index;
};
typedef nvmlDevice_st* nvmlDevice_t;

namespace {
constexpr nvmlReturn_t kSuccess = 0, kUninitialized = 1, kInvalidArgument = 2, kNotSupported = 3, kDriverNotLoaded = 9;
constexpr unsigned kMaxDevices = 4;
nvmlDevice_st devices[kMaxDevices] = {{0}, {1}, {2}, {3}};
bool initialized = false;
bool configured_in_process = false;
nvmlReturn_t init_result = kSuccess;
unsigned device_count = 1;
unsigned power_mw = 42000;
bool energy_supported = true;
unsigned long long energy_mj[kMaxDevices] = {1000000, 2000000, 0, 0};

long env_or(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::strtol(value, nullptr, 10) : fallback;
}
}  // namespace

__attribute__((visibility("default"))) void fake_nvml_configure(int init_rc, unsigned count, unsigned power,
                                                                int supports_energy) {
  configured_in_process = true;
  init_result = init_rc;
  device_count = count < kMaxDevices ? count : kMaxDevices;
  power_mw = power;
  energy_supported = supports_energy != 0;
}

__attribute__((visibility("default"))) void fake_nvml_set_energy_mj(unsigned index, unsigned long long value) {
  if (index < kMaxDevices) energy_mj[index] = value;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlInit_v2() {
  if (!configured_in_process) {
    init_result = static_cast<nvmlReturn_t>(env_or("FAKE_NVML_INIT_RESULT", kSuccess));
    device_count = static_cast<unsigned>(env_or("FAKE_NVML_DEVICE_COUNT", 1));
    power_mw = static_cast<unsigned>(env_or("FAKE_NVML_POWER_MW", 42000));
    energy_supported = env_or("FAKE_NVML_ENERGY_SUPPORTED", 1) != 0;
  }
  if (init_result != kSuccess) return init_result;
  initialized = true;
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlShutdown() {
  if (!initialized) return kUninitialized;
  initialized = false;
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialized) return kUninitialized;
  if (!count) return kInvalidArgument;
  *count = device_count;
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                                                 nvmlDevice_t* device) {
  if (!initialized) return kUninitialized;
  if (!device || index >= device_count) return kInvalidArgument;
  *device = &devices[index];
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name,
                                                                     unsigned int length) {
  if (!initialized) return kUninitialized;
  if (!device || !name) return kInvalidArgument;
  const std::string text = "Fake GPU " + std::to_string(device->index);
  if (length < text.size() + 1) return kInvalidArgument;
  std::memcpy(name, text.c_str(), text.size() + 1);
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power) {
  if (!initialized) return kUninitialized;
  if (!device || !power) return kInvalidArgument;
  *power = power_mw + device->index;
  return kSuccess;
}

__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device,
                                                                                       unsigned long long* energy) {
  if (!initialized) return kUninitialized;
  if (!device || !energy) return kInvalidArgument;
  if (!energy_supported) return kNotSupported;
  *energy = energy_mj[device->index];
  return kSuccess;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case kSuccess: return "Success";
    case kUninitialized: return "Uninitialized";
    case kInvalidArgument: return "Invalid Argument";
    case kNotSupported: return "Not Supported";
    case kDriverNotLoaded: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

}  // extern "C"
