#pragma once
// What `joules search` and `joules export` print.

#include <string>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/export.hpp"
#include "search/nas_search.hpp"
#include "search/run_directory.hpp"
#include "train/data.hpp"

namespace joules::cli {

void print_search_header(const SearchConfig& config, const BoardProfile& profile, const Data& data,
                         const RunDirectory& run, bool resumed);

/// "gen 2/4 | 31 evaluated, 2 training | best 88.4% | front 5 | 3:05 elapsed, ETA 4:10"
std::string describe_progress(const SearchProgress& progress);

void print_export_summary(const ExportResult& exported, const BoardProfile& profile);

}  // namespace joules::cli
