// LoadConfigFile (gateway/config.h): ordergated's TOML file, read through the settings table of
// config.cc. Its own file so that only the daemon's target links toml++ (gateway/CMakeLists.txt).
#include <toml++/toml.h>

#include <charconv>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/config.h"

namespace ordergate::gateway {
namespace {

absl::Status KeyError(const std::string& path, const toml::node& node, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", node.source().begin.line, ": ", what));
}

const SettingDoc* FindDoc(absl::string_view key) {
  for (const SettingDoc& d : Settings()) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

// The shortest text that reads back as the same double, so that SetSetting sees exactly the value
// the file holds (StrCat keeps 6 digits only).
std::string ExactText(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path) {
  // Debian's toml++ is built with exceptions: its parse error is converted here, at start-up.
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", err.source().begin.line, ": ", std::string(err.description())));
  }
  GatewayConfig cfg;
  for (const auto& [key_node, node] : table) {
    const std::string key(key_node.str());
    if (key == "limits") continue;  // the [limits.NAME] tables: gateway/limits_file.h
    const SettingDoc* doc = FindDoc(key);
    if (doc == nullptr)
      return KeyError(path, node, absl::StrCat(key, " is not a setting of ordergated"));
    // The file's typed value goes through SetSetting as its exact text: one parser and one range
    // check (config.cc's table) for flags and files alike.
    std::string text;
    switch (doc->type) {
      case SettingType::kInteger: {
        auto v = node.value<int64_t>();
        if (!v) return KeyError(path, node, absl::StrCat(key, " must be an integer"));
        text = absl::StrCat(*v);
        break;
      }
      case SettingType::kNumber: {
        auto v = node.value<double>();
        if (!v) return KeyError(path, node, absl::StrCat(key, " must be a number"));
        text = ExactText(*v);
        break;
      }
      case SettingType::kBoolean: {
        auto v = node.value<bool>();
        if (!v) return KeyError(path, node, absl::StrCat(key, " must be true or false"));
        text = *v ? "true" : "false";
        break;
      }
      case SettingType::kString: {
        auto v = node.value<std::string>();
        if (!v) return KeyError(path, node, absl::StrCat(key, " must be a string"));
        text = std::move(*v);
        break;
      }
    }
    absl::Status st = SetSetting(key, text, &cfg);
    if (!st.ok()) return KeyError(path, node, st.message());
  }
  return cfg;
}

}  // namespace ordergate::gateway
