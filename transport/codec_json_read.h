// simdjson helpers shared by the codec's two decoders (codec_decode_request.cc,
// codec_decode_bridge_reply.cc): string conversions, case-insensitive matching, the per-thread
// parser with its depth bound, typed access. Internal to transport/'s codec: simdjson types never
// leave the folder, so no header outside transport/ includes this one.
// Thread-safety: every function is reentrant; a ThreadParser belongs to one thread (thread_local).
#ifndef ORDERGATE_TRANSPORT_CODEC_JSON_READ_H_
#define ORDERGATE_TRANSPORT_CODEC_JSON_READ_H_

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "absl/strings/string_view.h"

namespace ordergate::codec_json_read {

namespace dom = simdjson::dom;
using simdjson::dom::element_type;

// Below this, simdjson would round the capacity up anyway; starting here means a typical request
// never triggers a second allocation.
constexpr size_t kInitialCapacity = 4096;

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline char AsciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// `upper` is an upper-case ASCII literal.
inline bool EqualsIgnoreCase(std::string_view s, std::string_view upper) {
  if (s.size() != upper.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (AsciiUpper(s[i]) != upper[i]) return false;
  }
  return true;
}

// Parsers. One per thread and purpose (each decoder keeps its own thread_local ThreadParser):
// requests get a tight depth bound (the contract's max_depth), bridge replies a loose one; sharing
// a parser would reallocate on every switch.
struct ThreadParser {
  dom::parser parser;
  size_t depth = 0;
};

// The parser of `tp`, reallocated only when `depth` changes. nullptr when allocation fails.
inline dom::parser* ParserWithDepth(ThreadParser& tp, size_t depth) {
  if (tp.depth != depth) {
    if (tp.parser.allocate(std::max(tp.parser.capacity(), kInitialCapacity), depth) !=
        simdjson::SUCCESS) {
      tp.depth = 0;
      return nullptr;
    }
    tp.depth = depth;
  }
  return &tp.parser;
}

// A JSON string, viewed in place (valid until the parser's next parse).
inline bool GetString(const dom::element& e, std::string_view* s) {
  if (e.type() != element_type::STRING) return false;
  *s = e.get_string().value_unsafe();
  return true;
}

}  // namespace ordergate::codec_json_read

#endif  // ORDERGATE_TRANSPORT_CODEC_JSON_READ_H_
