#include "transport/relay_uuid.h"

#include <simdjson.h>

#include <string_view>

namespace ordergate {
namespace {

// Where the top-level uuid value sits in the padded copy: [begin, end), or begin == npos.
struct Span {
  size_t begin = std::string_view::npos;
  size_t end = 0;
};

bool Scan(const simdjson::padded_string& doc_text, RelayUuid* uuid, Span* span) {
  thread_local simdjson::ondemand::parser parser;
  *uuid = RelayUuid{};
  simdjson::ondemand::document doc;
  if (parser.iterate(doc_text).get(doc)) return false;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    simdjson::ondemand::value value;
    if (field.value().get(value)) return false;
    if (key != "uuid") continue;  // the loop skips the value
    std::string_view raw = value.raw_json_token();
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) return false;
    if (type == simdjson::ondemand::json_type::string) {
      // A string token is quoted; raw_json_token also covers the whitespace after it.
      raw = raw.substr(0, raw.find_last_of('"') + 1);
      std::string_view text;
      if (value.get_string().get(text)) return false;
      uuid->is_string = true;
      uuid->text.assign(text.data(), text.size());
    } else if (type == simdjson::ondemand::json_type::object ||
               type == simdjson::ondemand::json_type::array) {
      // raw_json_token covers only the opening bracket of a container: not a uuid anyone sends,
      // and not one that can be swapped in place.
      return false;
    } else {
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' ||
                              raw.back() == '\r')) {
        raw.remove_suffix(1);
      }
    }
    uuid->present = true;
    uuid->json.assign(raw.data(), raw.size());
    span->begin = static_cast<size_t>(raw.data() - doc_text.data());
    span->end = span->begin + raw.size();
    // Keep iterating: a later error in the object (or a second "uuid") must still be seen.
  }
  return true;
}

}  // namespace

bool ReadTopLevelUuid(absl::string_view object, RelayUuid* out) {
  const simdjson::padded_string text(object.data(), object.size());
  Span span;
  if (!Scan(text, out, &span)) {
    *out = RelayUuid{};
    return false;
  }
  return true;
}

bool SwapTopLevelUuid(absl::string_view object, absl::string_view uuid_json, std::string* out,
                      RelayUuid* old) {
  const simdjson::padded_string text(object.data(), object.size());
  RelayUuid found;
  Span span;
  if (!Scan(text, &found, &span)) return false;
  out->clear();
  if (span.begin != std::string_view::npos) {
    out->append(object.data(), span.begin);
    out->append(uuid_json.data(), uuid_json.size());
    out->append(object.data() + span.end, object.size() - span.end);
  } else {
    const size_t brace = object.find('{');  // Scan proved an object: the first '{' opens it
    out->append(object.data(), brace + 1);
    out->append("\"uuid\":");
    out->append(uuid_json.data(), uuid_json.size());
    // An empty object gets no comma.
    const size_t next = object.find_first_not_of(" \t\r\n", brace + 1);
    if (next != absl::string_view::npos && object[next] != '}') out->push_back(',');
    out->append(object.data() + brace + 1, object.size() - brace - 1);
  }
  if (old != nullptr) *old = std::move(found);
  return true;
}

}  // namespace ordergate
