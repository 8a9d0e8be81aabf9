/*
 * keys/shortest.cc - exact decimal conversions of doubles (shortest.h) from
 * C++17's std::to_chars / std::from_chars, which libstdc++ implements exactly
 * (Ryu, fast_float): the shortest round-trip digits in one pass, where C has
 * only snprintf + strtod round trips. The project's only C++ (docs/DESIGN.md
 * "Decisions"); nothing here throws or allocates.
 */
#include "keys/shortest.h"

#include <charconv>
#include <cmath>
#include <system_error>

extern "C" int td_shortest_digits(double d, bool single, char *digits, int *exp10) {
  char buf[48];
  std::to_chars_result r = single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d), std::chars_format::scientific)
                                  : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (r.ec != std::errc()) return 0;
  /* [-]D[.DDD]e(+|-)XX */
  const char *p = buf + (buf[0] == '-');
  int n = 0;
  for (; p < r.ptr && *p != 'e'; p++)
    if (*p != '.') digits[n++] = *p;
  if (p + 2 >= r.ptr || n == 0) return 0;
  bool neg = p[1] == '-';
  int e = 0;
  for (p += 2; p < r.ptr; p++) e = e * 10 + (*p - '0');
  *exp10 = neg ? -e : e;
  return n;
}

extern "C" int td_format_general(double d, int prec, char *buf, size_t size) {
  std::to_chars_result r = std::to_chars(buf, buf + size, d, std::chars_format::general, prec);
  return r.ec == std::errc() ? static_cast<int>(r.ptr - buf) : 0;
}

extern "C" double td_read_double(const char *s, size_t n) {
  double v = 0;
  std::from_chars_result r = std::from_chars(s, s + n, v);
  if (r.ec == std::errc::result_out_of_range) { /* strtod: +-HUGE_VAL above the range, +-0 below */
    bool neg = n && s[0] == '-';
    const char *e = s;
    while (e < s + n && *e != 'e' && *e != 'E') e++;
    bool tiny = e + 1 < s + n && e[1] == '-';
    v = tiny ? 0.0 : HUGE_VAL;
    return neg ? -v : v;
  }
  return r.ec == std::errc() ? v : 0.0;
}
