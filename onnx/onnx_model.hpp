#pragma once
// ONNX files of joules networks (DESIGN.md, "ONNX files"): writing an Architecture with its
// weights as an opset-13 ModelProto, and reading plain CNNs back, as joules writes them or as
// torch.onnx.export does. Protobuf and the ONNX library stay inside onnx/'s .cpp files.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "space/architecture.hpp"
#include "space/weights.hpp"

namespace joules {

/// The opset of the files joules writes (TensorRT 8.x on JetPack 4.6 and 5 reads it).
inline constexpr int kOnnxOpset = 13;
/// The opsets joules reads.
inline constexpr int kOnnxMinImportOpset = 11;
inline constexpr int kOnnxMaxImportOpset = 17;

/// What a written file says about its network beyond the graph (metadata_props). Absent
/// values are left out of the file.
struct OnnxMetadata {
  std::string board;                               // the board the energy was estimated for
  std::optional<double> energy_mj;                 // per inference, batch 1
  std::optional<std::array<double, 2>> energy_band_mj;  // [low, high]
  std::optional<double> validation_accuracy;       // in [0, 1]
  std::optional<double> test_accuracy;             // in [0, 1]
  std::vector<std::string> class_names;            // empty: "0", "1", ... up to the outputs
};

/// The serialized ModelProto of `arch` with `weights`: input "input" [N, C, H, W] (N dynamic,
/// pixel values in [0, 1]), the normalisation as the first nodes (Sub, Div), every layer with
/// batch norm folded into its conv, dropout dropped, output "logits" [N, outputs]. The model
/// passes onnx::checker::check_model and strict shape inference before it is returned.
/// Throws SpecError for an invalid architecture, std::invalid_argument when `weights` does
/// not fit it (naming the layer and the array), std::runtime_error when the checker rejects
/// the model.
std::string onnx_model_bytes(const Architecture& arch, const NetworkWeights& weights,
                             const OnnxMetadata& metadata = {});

/// onnx_model_bytes() written atomically to `path`. Throws as onnx_model_bytes(), and
/// std::runtime_error naming the path on I/O failure.
void write_onnx(const std::string& path, const Architecture& arch, const NetworkWeights& weights,
                const OnnxMetadata& metadata = {});

/// A network read from an ONNX file.
struct OnnxImport {
  Architecture arch;        // batch norm kept when the file has BatchNormalization nodes
  NetworkWeights weights;   // normalisation: from leading Sub/Div nodes, else empty
  int opset = 0;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, in file order
};

/// Reads a serialized ModelProto; `file` labels errors. Throws InputError
/// ("FILE: node 'NAME' (OP): why") for anything that is not a plain CNN joules can represent:
/// bytes that are not an ONNX model, opsets outside 11..17, unsupported ops or attributes
/// (dilation, branches, dynamic spatial shapes, ...), tensors whose data does not match their
/// shape, impossible networks.
OnnxImport parse_onnx(std::string_view bytes, const std::string& file);

/// parse_onnx() of a file's content; InputError when it cannot be read.
OnnxImport load_onnx(const std::string& path);

/// True when `path` names an ONNX file (extension .onnx, any case).
bool is_onnx_path(const std::string& path);

/// The architecture in `path`: an ONNX file (is_onnx_path) or an architecture YAML.
/// Throws InputError as load_onnx() or load_architecture().
Architecture load_architecture_file(const std::string& path);

}  // namespace joules
