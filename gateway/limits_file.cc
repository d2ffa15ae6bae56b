#include "gateway/limits_file.h"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ordergate::gateway {
namespace {

constexpr double kMinRate = 0.001;
constexpr double kMaxRate = 1'000'000;
constexpr int64_t kMaxInFlight = 1'000'000;

struct Reader {
  std::string source;

  absl::Status Error(const toml::node& node, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", node.source().begin.line, ": ", what));
  }

  // A number (integer or floating point), for `what`, within the caller's check.
  absl::StatusOr<double> Number(const toml::node& node, absl::string_view what) const {
    if (!node.is_number()) return Error(node, absl::StrCat(what, " must be a number"));
    return *node.value<double>();
  }

  absl::Status Table(absl::string_view name, const toml::table& table, ClientLimits* out) const {
    for (const auto& [key_node, node] : table) {
      const std::string key(key_node.str());
      const std::string what = absl::StrCat("limits.", name, ".", key);
      if (key == "symbols") {
        const toml::array* list = node.as_array();
        if (list == nullptr || list->empty()) {
          return Error(node, absl::StrCat(what, " must be a non-empty list of symbols"));
        }
        std::vector<std::string> symbols;
        for (const toml::node& item : *list) {
          std::optional<std::string> s = item.value<std::string>();
          if (!item.is_string() || !s || s->empty()) {
            return Error(item, absl::StrCat(what, " must hold non-empty strings"));
          }
          symbols.push_back(std::move(*s));
        }
        out->symbols = std::move(symbols);
      } else if (key == "max_volume" || key == "max_notional_per_minute") {
        absl::StatusOr<double> v = Number(node, what);
        if (!v.ok()) return v.status();
        if (!(*v > 0) || !std::isfinite(*v)) {
          return Error(node, absl::StrCat(what, " (", *v, ") must be a finite number above 0"));
        }
        (key == "max_volume" ? out->max_volume : out->max_notional_per_minute) = *v;
      } else if (key == "max_orders_per_second") {
        absl::StatusOr<double> v = Number(node, what);
        if (!v.ok()) return v.status();
        if (!(*v >= kMinRate && *v <= kMaxRate)) {
          return Error(node, absl::StrCat(what, " (", *v, ") must be within 0.001..1000000"));
        }
        out->max_orders_per_second = *v;
      } else if (key == "max_in_flight") {
        if (!node.is_integer()) return Error(node, absl::StrCat(what, " must be an integer"));
        const int64_t v = *node.value<int64_t>();
        if (v < 1 || v > kMaxInFlight) {
          return Error(node, absl::StrCat(what, " (", v, ") must be within 1..1000000"));
        }
        out->max_in_flight = v;
      } else {
        return Error(node, absl::StrCat(what,
                                        " is not a limit (symbols, max_volume, "
                                        "max_orders_per_second, max_in_flight, "
                                        "max_notional_per_minute)"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<LimitsTable> Read(const toml::table& root) const {
    LimitsTable out;
    const toml::node* limits = root.get("limits");
    if (limits == nullptr) return out;
    const toml::table* sections = limits->as_table();
    if (sections == nullptr) {
      return Error(*limits, "limits must be a table of [limits.NAME] sections");
    }
    for (const auto& [key_node, node] : *sections) {
      const std::string name(key_node.str());
      const toml::table* section = node.as_table();
      if (section == nullptr) {
        return Error(node, absl::StrCat("limits.", name, " must be a table [limits.", name,
                                        "] (a client's identity, or default)"));
      }
      ClientLimits limits_of;
      if (absl::Status st = Table(name, *section, &limits_of); !st.ok()) return st;
      if (name == "default") {
        out.default_limits = std::move(limits_of);
      } else {
        out.by_identity[name] = std::move(limits_of);
      }
    }
    return out;
  }
};

absl::Status ParseError(absl::string_view source, const toml::parse_error& err) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", err.source().begin.line, ": ", std::string(err.description())));
}

}  // namespace

absl::StatusOr<LimitsTable> LoadLimitsFile(const std::string& path) {
  // Debian's toml++ is built with exceptions: its parse error is converted here.
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return ParseError(path, err);
  }
  return Reader{path}.Read(root);
}

absl::StatusOr<LimitsTable> ParseLimits(absl::string_view toml_text, absl::string_view source) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& err) {
    return ParseError(source, err);
  }
  return Reader{std::string(source)}.Read(root);
}

}  // namespace ordergate::gateway
