// ISO 8601 UTC timestamps with microseconds, written and read without locale or time zone
// (proleptic Gregorian calendar arithmetic): the "timestamp" of every reply and the time inside a
// risk_signature. Thread-safety: both functions are reentrant. Nothing here blocks.
#ifndef ORDERGATE_TRANSPORT_ISO_TIME_H_
#define ORDERGATE_TRANSPORT_ISO_TIME_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ordergate {

// ISO 8601 UTC with microseconds, extended ("2026-11-25T09:35:52.123456Z") or basic
// ("20261125T093552.123456Z", the colon-free form a risk_signature needs). Appends to *out.
void AppendIsoTimestamp(int64_t unix_us, bool basic, std::string* out);
// Parses either form, not mixed (fraction of 1-9 digits optional, truncated to microseconds; 'Z'
// required; seconds 00-59). False on anything else.
bool ParseIsoTimestamp(absl::string_view s, int64_t* unix_us);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_ISO_TIME_H_
