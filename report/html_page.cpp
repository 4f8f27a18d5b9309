#include "report/html_page.hpp"

#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/svg_plot.hpp"

namespace joules {
namespace {

// Light, readable on a laptop and a phone: one column that widens to a grid of cards, SVG
// scaled to the card's width (the plots carry a viewBox).
constexpr const char* kStyle = R"css(
:root { --ink: #1d2430; --muted: #5b6577; --line: #dde2ea; --card: #fff; --bg: #f4f6f9; --accent: #1f77b4;
        --warn-bg: #fff4e0; --warn-line: #f0b44c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
       Roboto, sans-serif; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 20px; }
h1 { font-size: 1.5em; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 0 0 10px; }
h3 { font-size: 1em; margin: 14px 0 6px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
        margin: 14px 0; overflow-x: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 0 14px; }
.notice { background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 8px; padding: 8px 12px;
          margin: 8px 0; }
.stats { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; padding: 0; list-style: none; }
.stats li { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; }
.stats b { display: block; font-size: 1.2em; }
svg { width: 100%; max-width: 100%; height: auto; display: block; }
.member svg { max-width: 860px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr[data-member] { cursor: pointer; }
tr[data-member]:hover, tr.sel { background: #eaf2fb; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f7f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow-x: auto;
      font-size: 0.85em; }
.hint { color: var(--muted); font-size: 0.9em; margin: 4px 0 0; }
.pt { cursor: pointer; }
.pt:hover, .pt.sel { stroke: #000; stroke-width: 2px; }
#tip { position: fixed; z-index: 10; max-width: min(360px, 92vw); background: rgba(255, 255, 255, 0.97);
       border: 1px solid #99a3b3; border-radius: 8px; padding: 8px 10px; font-size: 0.88em;
       box-shadow: 0 4px 16px rgba(0, 0, 0, 0.15); pointer-events: none; overflow-wrap: anywhere; }
#tip .tip-title { font-weight: 700; margin-bottom: 3px; }
#tip .tip-warn { color: #9a5b00; }
.member h2 { display: flex; justify-content: space-between; gap: 10px; }
.member button { font: inherit; border: 1px solid var(--line); background: #f7f8fa; border-radius: 6px; cursor: pointer; }
footer { color: var(--muted); font-size: 0.85em; padding-bottom: 24px; }
@media (max-width: 700px) { body { font-size: 14px; } .card { padding: 10px; } th, td { padding: 3px 5px; }
                            .wide { display: none; } }
)css";

}  // namespace

std::string html_escape(std::string_view text) { return xml_escape(text); }

std::string html_document(std::string_view title, std::string_view body, std::string_view script) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      // Nothing may be fetched: no network, no other file.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
      html_escape(title), kStyle);
  out += body;
  if (!script.empty()) out += fmt::format("<script>\n{}\n</script>\n", script);
  out += "</body>\n</html>\n";
  return out;
}

std::string json_script(std::string_view id, const nlohmann::json& data) {
  const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string safe;
  safe.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    safe += text[i];
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') safe += '\\';
  }
  // "<!--" inside a script element also changes how the rest is parsed.
  std::string out;
  for (std::size_t i = 0; i < safe.size(); ++i) {
    if (safe.compare(i, 4, "<!--") == 0) {
      out += "\\u003c!--";
      i += 3;
    } else {
      out += safe[i];
    }
  }
  return fmt::format("<script type=\"application/json\" id=\"{}\">{}</script>\n", html_escape(id), out);
}

std::string human_number(double value) {
  return std::isfinite(value) ? fmt::format("{:.3g}", value) : "n/a";
}

std::string human_count(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string definition_item(std::string_view key, std::string_view value) {
  return value.empty() ? std::string() : fmt::format("<dt>{}</dt><dd>{}</dd>\n", key, html_escape(value));
}

std::string provenance_items(const Provenance& pv, std::string_view kind_key) {
  std::string rails;
  for (const std::string& r : pv.rails) rails += (rails.empty() ? "" : ", ") + r;
  std::string out = definition_item(kind_key, std::string(to_string(pv.kind)) +
                                                  (pv.estimate ? " (energy ESTIMATED, not measured)" : ""));
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"sensor", &pv.sensor},
                                   {"rails", &rails},
                                   {"device", &pv.device},
                                   {"software", &pv.software},
                                   {"date", &pv.date},
                                   {"source", &pv.source},
                                   {"notes", &pv.notes}}) {
    out += definition_item(key, *value);
  }
  return out;
}

}  // namespace joules
