// ISO 8601 times (the risk_signature's timestamp, every time field in replies) and the latency
// models of the simulated MT5 call.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/sim/bridge_sim.h"
#include "transport/sim/sim_impl.h"

namespace ordergate::transport::sim {
namespace {

// ---- time ----

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<int64_t> ToUnixUs(int y, int mo, int d, int h, int mi, int sec, int64_t frac_us) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const time_t t = timegm(&tm);
  // timegm normalises Feb 30 into March: a changed day means the date did not exist.
  if (tm.tm_mday != d || tm.tm_mon != mo - 1) return std::nullopt;
  return static_cast<int64_t>(t) * 1000000 + frac_us;
}

// Parses ".f{1,max_digits}" at `pos` into microseconds; advances pos. Absent fraction is fine.
bool ParseFraction(std::string_view s, size_t* pos, size_t max_digits, int64_t* us) {
  *us = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  size_t i = *pos + 1;
  size_t n = 0;
  int64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n < 6) v = v * 10 + (s[i] - '0');
    ++n;
    ++i;
  }
  if (n == 0 || n > max_digits) return false;
  for (size_t k = std::min<size_t>(n, 6); k < 6; ++k) v *= 10;
  *us = v;
  *pos = i;
  return true;
}

// Either ISO form, for PING's optional timestamp; no zone means UTC.
}  // namespace

namespace internal {

std::optional<int64_t> ParseIsoAnyUtc(std::string_view s) {
  if (auto basic = ParseIsoBasicUtc(absl::string_view(s.data(), s.size()))) return basic;
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 5, 2, &mo) || !ParseDigits(s, 8, 2, &d) ||
      !ParseDigits(s, 11, 2, &h) || !ParseDigits(s, 14, 2, &mi) || !ParseDigits(s, 17, 2, &sec))
    return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (!ParseFraction(s, &pos, 9, &frac)) return std::nullopt;
  std::string_view rest = s.substr(pos);
  if (!(rest.empty() || rest == "Z" || rest == "+00:00")) return std::nullopt;
  return ToUnixUs(y, mo, d, h, mi, sec, frac);
}

}  // namespace internal

// ---- public helpers ----

namespace {

std::string FormatIsoUtc(int64_t unix_us, bool basic) {
  int64_t secs = unix_us / 1000000;
  int64_t frac = unix_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf,
                basic ? "%04d%02d%02dT%02d%02d%02d.%06dZ" : "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

}  // namespace

std::string FormatIsoBasicUtc(int64_t unix_us) { return FormatIsoUtc(unix_us, /*basic=*/true); }

std::string FormatIsoExtendedUtc(int64_t unix_us) { return FormatIsoUtc(unix_us, /*basic=*/false); }

std::optional<int64_t> ParseIsoBasicUtc(absl::string_view as) {
  std::string_view s(as.data(), as.size());
  int y, mo, d, h, mi, sec;
  if (s.size() < 16 || s[8] != 'T') return std::nullopt;
  if (!ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 4, 2, &mo) || !ParseDigits(s, 6, 2, &d) ||
      !ParseDigits(s, 9, 2, &h) || !ParseDigits(s, 11, 2, &mi) || !ParseDigits(s, 13, 2, &sec))
    return std::nullopt;
  size_t pos = 15;
  int64_t frac = 0;
  // Six digits at most, as Python's %f (the real bridge's strptime) accepts.
  if (!ParseFraction(s, &pos, 6, &frac)) return std::nullopt;
  if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  return ToUnixUs(y, mo, d, h, mi, sec, frac);
}

absl::StatusOr<LatencyModel> LatencyModel::Parse(absl::string_view spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  auto num = [&](size_t i, double* out) {
    return absl::SimpleAtod(parts[i], out) && std::isfinite(*out) && *out >= 0;
  };
  LatencyModel m;
  if (parts[0] == "fixed" && parts.size() == 2) {
    m.kind = Kind::kFixed;
    if (num(1, &m.a_ms)) return m;
  } else if (parts[0] == "uniform" && parts.size() == 3) {
    m.kind = Kind::kUniform;
    if (num(1, &m.a_ms) && num(2, &m.b_ms) && m.a_ms <= m.b_ms) return m;
  } else if (parts[0] == "lognormal" && parts.size() == 3) {
    m.kind = Kind::kLognormal;
    if (num(1, &m.a_ms) && num(2, &m.b_ms) && m.a_ms > 0 && m.a_ms <= m.b_ms) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad latency model '", spec,
                   "': want fixed:MS, uniform:MIN_MS:MAX_MS (MIN <= MAX) or "
                   "lognormal:P50_MS:P99_MS (0 < P50 <= P99)"));
}

std::string LatencyModel::ToString() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::kFixed:
      os << "fixed:" << a_ms;
      break;
    case Kind::kUniform:
      os << "uniform:" << a_ms << ':' << b_ms;
      break;
    case Kind::kLognormal:
      os << "lognormal:" << a_ms << ':' << b_ms;
      break;
  }
  return os.str();
}

}  // namespace ordergate::transport::sim
