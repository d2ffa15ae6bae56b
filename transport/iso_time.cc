#include "transport/iso_time.h"

#include <string_view>

#include "absl/strings/str_cat.h"

namespace ordergate {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms): no locale, no time zone.

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

void PutDigits(uint64_t v, int width, char* p) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

void AppendIsoTimestamp(int64_t unix_us, bool basic, std::string* out) {
  const int64_t secs = FloorDiv(unix_us, kMicrosPerSecond);
  int64_t micros =
      unix_us % kMicrosPerSecond;  // not unix_us - secs * 1e6: that overflows at the ends
  if (micros < 0) micros += kMicrosPerSecond;
  const int64_t days = FloorDiv(secs, 86400);
  const int64_t sod = secs - days * 86400;
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, &year, &month, &day);

  if (year < 0 || year > 9999) {
    // Outside ISO's 4-digit years: not a time ordergate can meet; keep the output parseable-ish.
    absl::StrAppend(out, year);
  } else {
    char y[4];
    PutDigits(static_cast<uint64_t>(year), 4, y);
    out->append(y, 4);
  }
  char buf[32];
  char* p = buf;
  if (!basic) *p++ = '-';
  PutDigits(month, 2, p);
  p += 2;
  if (!basic) *p++ = '-';
  PutDigits(day, 2, p);
  p += 2;
  *p++ = 'T';
  PutDigits(static_cast<uint64_t>(sod / 3600), 2, p);
  p += 2;
  if (!basic) *p++ = ':';
  PutDigits(static_cast<uint64_t>(sod / 60 % 60), 2, p);
  p += 2;
  if (!basic) *p++ = ':';
  PutDigits(static_cast<uint64_t>(sod % 60), 2, p);
  p += 2;
  *p++ = '.';
  PutDigits(static_cast<uint64_t>(micros), 6, p);
  p += 6;
  *p++ = 'Z';
  out->append(buf, static_cast<size_t>(p - buf));
}

bool ParseIsoTimestamp(absl::string_view text, int64_t* unix_us) {
  const std::string_view s = ToStd(text);
  size_t i = 0;
  auto digits = [&](int count, int64_t* v) {
    if (i + static_cast<size_t>(count) > s.size()) return false;
    int64_t acc = 0;
    for (int k = 0; k < count; ++k) {
      const char c = s[i++];
      if (c < '0' || c > '9') return false;
      acc = acc * 10 + (c - '0');
    }
    *v = acc;
    return true;
  };
  auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  };

  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(4, &year)) return false;
  const bool extended = i < s.size() && s[i] == '-';
  if (extended) ++i;
  if (!digits(2, &month)) return false;
  if (extended && !expect('-')) return false;
  if (!digits(2, &day) || !expect('T') || !digits(2, &hour)) return false;
  if (extended && !expect(':')) return false;
  if (!digits(2, &minute)) return false;
  if (extended && !expect(':')) return false;
  if (!digits(2, &second)) return false;

  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int count = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (count < 6) micros = micros * 10 + (s[i] - '0');
      ++count;
      ++i;
    }
    if (count == 0 || count > 9) return false;
    for (int k = count; k < 6; ++k) micros *= 10;
  }
  if (!expect('Z') || i != s.size()) return false;

  if (month < 1 || month > 12) return false;
  const int64_t month_days = DaysInMonth(year, static_cast<unsigned>(month));
  if (day < 1 || day > month_days) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;

  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  *unix_us = ((days * 86400) + hour * 3600 + minute * 60 + second) * kMicrosPerSecond + micros;
  return true;
}

}  // namespace ordergate
