#pragma once
// Reading CSV files with a header row (RFC 4180 quoting), with errors that name the file, the
// line and the column; and quoting fields for writing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace joules {

/// A whole CSV file in memory. Immutable after reading.
class CsvTable {
 public:
  /// Throws InputError when the file cannot be read or is larger than kMaxInputFileBytes, is
  /// not UTF-8 text (a leading byte order mark is dropped), names a column twice, a row has the
  /// wrong number of fields, or a quote is left open.
  static CsvTable read_file(const std::string& path);
  static CsvTable parse(std::string_view text, const std::string& file);

  const std::string& file() const { return file_; }
  const std::vector<std::string>& header() const { return header_; }
  std::size_t rows() const { return rows_.size(); }
  /// False when the last data row had no final newline (e.g. a log torn by a crash).
  bool ends_with_newline() const { return ends_with_newline_; }

  bool has_column(std::string_view name) const;
  /// Index of a column; throws InputError "missing column" naming the file.
  std::size_t column(std::string_view name) const;

  const std::string& text(std::size_t row, std::size_t column) const { return rows_[row][column]; }
  /// The field as a finite number; throws InputError naming file, line and column.
  double number(std::size_t row, std::size_t column) const;
  std::int64_t integer(std::size_t row, std::size_t column) const;
  /// 1-based line of a data row in the file.
  int line(std::size_t row) const { return lines_[row]; }

  /// Throws InputError at a field.
  [[noreturn]] void fail(std::size_t row, std::size_t column, const std::string& message) const;

 private:
  std::string file_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> lines_;
  bool ends_with_newline_ = true;
};

/// A field quoted as CSV needs it (commas, quotes, newlines, leading/trailing spaces).
std::string csv_field(std::string_view text);

/// A number written so that it reads back exactly (shortest round-trip form).
std::string csv_number(double value);

}  // namespace joules
