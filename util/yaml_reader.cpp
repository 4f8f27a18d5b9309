#include "util/yaml_reader.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace joules::yaml {
namespace {

int line_of(const YAML::Node& node, int fallback) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

std::string join_path(const std::string& base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return base + "." + std::string(key);
}

// Shortens scalars quoted back in messages so that the error stays on one line.
std::string quote(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (text.size() > 40) out += "...";
  return "'" + out + "'";
}

std::string describe_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    default: return "nothing";
  }
}

}  // namespace

Value::Value(std::shared_ptr<const YAML::Node> node, std::shared_ptr<const std::string> file,
             std::string path, int line)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), line_(line) {}

Value Value::parse_string(const std::string& text, const std::string& file) {
  if (text.size() > kMaxFileBytes) {
    throw InputError(file, 0, "", fmt::format("file is larger than {} bytes, the most joules reads as YAML",
                                              kMaxFileBytes));
  }
  const std::string_view checked = checked_text(text, file);
  auto label = std::make_shared<const std::string>(file);
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(checked));
    if (documents.size() > 1) {
      throw InputError(file, line_of(documents[1], 0), "",
                       "a second YAML document (after '---'): a joules file holds one document");
    }
    auto node = std::make_shared<const YAML::Node>(documents.empty() ? YAML::Node() : documents.front());
    return Value(node, label, "", line_of(*node, 1));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    throw InputError(file, line, "", "YAML syntax error: " + e.msg);
  }
}

Value Value::parse_file(const std::string& path) {
  return parse_string(read_input_file(path, kMaxFileBytes), path);
}

bool Value::defined() const { return node_ != nullptr; }
bool Value::is_null() const { return !node_ || node_->IsNull(); }
bool Value::is_map() const { return node_ && node_->IsMap(); }
bool Value::is_sequence() const { return node_ && node_->IsSequence(); }
bool Value::is_scalar() const { return node_ && node_->IsScalar(); }

void Value::fail(const std::string& message) const {
  throw InputError(*file_, line_, path_, message);
}

void Value::fail_at(const SpecError& error) const {
  // Walk "a.b[2].c" down from this node as far as the file has it.
  Value deepest = *this;
  std::string_view rest = error.key();
  while (!rest.empty() && deepest.defined()) {
    Value next = deepest;
    if (rest.front() == '[') {
      const auto close = rest.find(']');
      if (close == std::string_view::npos) break;
      std::size_t index = 0;
      std::from_chars(rest.data() + 1, rest.data() + close, index);
      if (!deepest.is_sequence() || index >= deepest.size()) break;
      next = deepest.at(index);
      rest.remove_prefix(close + 1);
    } else {
      if (rest.front() == '.') rest.remove_prefix(1);
      const auto end = rest.find_first_of(".[");
      const std::string_view key = rest.substr(0, end);
      if (!deepest.is_map()) break;
      next = deepest.get(key);
      if (!next.defined()) break;
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    deepest = next;
  }
  const std::string key =
      path_.empty() ? error.key()
                    : (error.key().empty() ? path_
                                           : path_ + (error.key().front() == '[' ? "" : ".") +
                                                 error.key());
  throw InputError(*file_, deepest.line(), key, error.message());
}

Value Value::child(std::string_view key, std::string path) const {
  const YAML::Node& map = *node_;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      auto node = std::make_shared<const YAML::Node>(it->second);
      // Errors point at the key's line: a block value starts on the next line, and an empty
      // value has no mark of its own.
      return Value(node, file_, std::move(path), line_of(it->first, line_));
    }
  }
  return Value(nullptr, file_, std::move(path), line_);
}

Value Value::get(std::string_view key) const {
  if (!is_map()) fail("expected a map with key '" + std::string(key) + "', got " +
                      (node_ ? describe_kind(*node_) : "nothing"));
  keys();  // rejects duplicate keys
  return child(key, join_path(path_, key));
}

Value Value::require(std::string_view key) const {
  Value value = get(key);
  if (!value.defined()) fail("missing required key '" + std::string(key) + "'");
  return value;
}

Value Value::at(std::size_t index) const {
  if (!is_sequence()) fail("expected a list");
  if (index >= node_->size()) fail(fmt::format("index {} out of range", index));
  auto node = std::make_shared<const YAML::Node>((*node_)[index]);
  return Value(node, file_, fmt::format("{}[{}]", path_, index), line_of(*node, line_));
}

std::size_t Value::size() const {
  if (!node_ || !(node_->IsSequence() || node_->IsMap())) return 0;
  return node_->size();
}

std::vector<std::string> Value::keys() const {
  if (!is_map()) fail("expected a map, got " + (node_ ? describe_kind(*node_) : "nothing"));
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (auto it = node_->begin(); it != node_->end(); ++it) {
    if (!it->first.IsScalar()) {
      throw InputError(*file_, line_of(it->first, line_), path_, "map keys must be plain names");
    }
    const std::string& key = it->first.Scalar();
    if (!seen.insert(key).second) {
      throw InputError(*file_, line_of(it->first, line_), join_path(path_, key),
                       "duplicate key");
    }
    keys.push_back(key);
  }
  return keys;
}

void Value::allow_keys(std::initializer_list<std::string_view> allowed) const {
  allow_keys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

void Value::allow_keys(std::span<const std::string_view> allowed) const {
  for (const std::string& key : keys()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (known) continue;
    std::string expected;
    for (std::string_view a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
    child(key, join_path(path_, key)).fail("unknown key (expected one of: " + expected + ")");
  }
}

std::string Value::scalar_text(std::string_view expected) const {
  if (!node_) fail("missing value, expected " + std::string(expected));
  if (!node_->IsScalar()) fail("expected " + std::string(expected) + ", got " + describe_kind(*node_));
  return node_->Scalar();
}

std::int64_t Value::as_int(std::int64_t lo, std::int64_t hi) const {
  const std::string text = scalar_text("an integer");
  if (node_->Tag() == "!") fail("expected an integer, got the string " + quote(text));
  std::int64_t value = 0;
  const char* begin = text.data() + (text.starts_with('+') ? 1 : 0);
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) fail("integer " + quote(text) + " is out of range");
  if (ec != std::errc() || ptr != end) fail("expected an integer, got " + quote(text));
  if (value < lo || value > hi) {
    if (hi == INT64_MAX) fail(fmt::format("expected an integer >= {}, got {}", lo, value));
    fail(fmt::format("expected an integer in [{}, {}], got {}", lo, hi, value));
  }
  return value;
}

double Value::as_double(double lo, double hi) const {
  const std::string text = scalar_text("a number");
  if (node_->Tag() == "!") fail("expected a number, got the string " + quote(text));
  double value = 0;
  const char* begin = text.data() + (text.starts_with('+') ? 1 : 0);
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    fail("expected a finite number, got " + quote(text));
  }
  if (value < lo || value > hi) fail(fmt::format("expected a number in [{}, {}], got {}", lo, hi, value));
  return value;
}

bool Value::as_bool() const {
  const std::string text = scalar_text("true or false");
  if (node_->Tag() != "!") {
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  fail("expected true or false, got " + quote(text));
}

std::string Value::as_string() const {
  return scalar_text("a string");
}

std::size_t Value::as_choice(std::initializer_list<std::string_view> options) const {
  return as_choice(std::span<const std::string_view>(options.begin(), options.size()));
}

std::size_t Value::as_choice(std::span<const std::string_view> options) const {
  std::string expected;
  for (std::string_view o : options) expected += (expected.empty() ? "" : ", ") + std::string(o);
  const std::string text = scalar_text("one of: " + expected);
  std::size_t index = 0;
  for (std::string_view o : options) {
    if (o == text) return index;
    ++index;
  }
  fail("expected one of: " + expected + "; got " + quote(text));
}

}  // namespace joules::yaml
