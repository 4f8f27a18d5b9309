#include "util/csv.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "util/input_error.hpp"

namespace joules {

CsvTable CsvTable::read_file(const std::string& path) {
  return parse(read_input_file(path), path);
}

CsvTable CsvTable::parse(std::string_view text, const std::string& file) {
  text = checked_text(text, file);
  CsvTable table;
  table.file_ = file;
  std::vector<std::string> record;
  std::string field;
  int line = 1;
  int record_line = 1;
  bool quoted = false;
  bool any = false;  // the current record has content
  auto end_record = [&] {
    record.push_back(std::move(field));
    field.clear();
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (table.header_.empty()) {
        for (std::size_t i = 0; i < record.size(); ++i) {
          for (std::size_t j = 0; j < i; ++j) {
            if (record[j] == record[i]) throw InputError(file, record_line, record[i], "duplicate column");
          }
        }
        table.header_ = std::move(record);
      } else {
        if (record.size() != table.header_.size()) {
          throw InputError(file, record_line, "",
                           fmt::format("expected {} fields as in the header, got {}", table.header_.size(), record.size()));
        }
        table.rows_.push_back(std::move(record));
        table.lines_.push_back(record_line);
      }
    }
    record.clear();
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (!any) record_line = line;
    if (c == '"' && field.empty()) {
      quoted = true;
      any = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (quoted) throw InputError(file, record_line, "", "a quoted field is not closed");
  if (any || !field.empty()) {
    table.ends_with_newline_ = false;
    end_record();
  }
  if (table.header_.empty()) throw InputError(file, 1, "", "empty CSV file: expected a header row");
  return table;
}

bool CsvTable::has_column(std::string_view name) const {
  for (const auto& h : header_) {
    if (h == name) return true;
  }
  return false;
}

std::size_t CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  throw InputError(file_, 1, std::string(name), "missing column");
}

void CsvTable::fail(std::size_t row, std::size_t column, const std::string& message) const {
  throw InputError(file_, lines_[row], header_[column], message);
}

double CsvTable::number(std::size_t row, std::size_t column) const {
  const std::string& s = rows_[row][column];
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(value)) {
    fail(row, column, "expected a finite number, got '" + s.substr(0, 40) + "'");
  }
  return value;
}

std::int64_t CsvTable::integer(std::size_t row, std::size_t column) const {
  const std::string& s = rows_[row][column];
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    // Integers written as 12.0 by some tools are accepted when exact.
    const double d = number(row, column);
    if (d != std::floor(d) || std::fabs(d) > 9.0e15) fail(row, column, "expected an integer, got '" + s + "'");
    return static_cast<std::int64_t>(d);
  }
  return value;
}

std::string csv_field(std::string_view text) {
  const bool needs_quotes = text.find_first_of(",\"\n\r") != std::string_view::npos ||
                            (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!needs_quotes) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string csv_number(double value) { return fmt::format("{}", value); }

}  // namespace joules
