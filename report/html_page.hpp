#pragma once
// The scaffolding every joules report shares: one self-contained HTML document (no network
// fetch of any kind) with the reports' style sheet, and data embedded as JSON for its script.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "energy/board_profile.hpp"

namespace joules {

/// Text safe inside HTML text and attribute values (the SVG writer's escape: one rule for both).
std::string html_escape(std::string_view text);

/// A complete HTML5 document: charset, viewport for phones, `title` (escaped), the shared style
/// sheet, then `body` (HTML, inserted as is) and `script` (plain JavaScript, run at the end).
std::string html_document(std::string_view title, std::string_view body, std::string_view script = {});

/// `<script type="application/json" id="ID">` holding `data`, with every "</" written "<\/" so
/// that no string inside can end the element.
std::string json_script(std::string_view id, const nlohmann::json& data);

/// `<dt>KEY</dt><dd>VALUE</dd>` (value escaped); nothing when `value` is empty.
std::string definition_item(std::string_view key, std::string_view value);

/// A profile's provenance as definition items: its kind (under `kind_key`, marked when the
/// energy is estimated), sensor, rails, device, software, date, source and notes.
std::string provenance_items(const Provenance& provenance, std::string_view kind_key);

/// A number for people: 3 significant digits, thousands grouped for integers ("12,345").
std::string human_number(double value);
std::string human_count(long long value);

}  // namespace joules
