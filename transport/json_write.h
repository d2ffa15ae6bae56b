// Writing JSON values by hand, for the encoders that compose replies and requests without a DOM
// (transport/codec.h's encoders, the gateway's admin and metrics bodies, the bench's reports).
// Thread-safety: every function is reentrant. Nothing here blocks; each appends to *out.
#ifndef ORDERGATE_TRANSPORT_JSON_WRITE_H_
#define ORDERGATE_TRANSPORT_JSON_WRITE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ordergate {

// Appends `s` as a JSON string literal (quotes included), escaping per RFC 8259: '"', '\\' and
// control characters (as \u00XX); valid UTF-8 passes through, and any byte that is not part of
// valid UTF-8 becomes \ufffd, so the output is always valid JSON.
void AppendJsonString(absl::string_view s, std::string* out);
// Appends a double in shortest round-trip form ("0.1", "1e+300"); non-finite values as null.
void AppendJsonNumber(double v, std::string* out);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_JSON_WRITE_H_
