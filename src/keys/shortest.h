/*
 * keys/shortest.h - exact decimal conversions of doubles from the C++17
 * standard library (keys/shortest.cc), for value.c's printing of doubles
 * without snprintf/strtod round trips.
 */
#ifndef TD_KEYS_SHORTEST_H
#define TD_KEYS_SHORTEST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shortest decimal digits that read back as d (as a float, (float)d,
 * when single; d finite): writes them to digits (room for 24; no sign, no
 * point, no trailing zeros; "0" for zero), sets *exp10 to the power of ten
 * of the first digit and returns their count (0 if the library failed). */
int td_shortest_digits(double d, bool single, char *digits, int *exp10);

/* Lays out the n digits dig of a value whose first digit is at 10^x (as
 * td_shortest_digits gives them; no sign) at p: fixed ("0.001", "12.5",
 * "300"; no point for whole numbers) or scientific ("1.5e-07", "1e+16": a
 * signed exponent of at least two digits).  Returns the length (at most
 * n + 330).  In value.c. */
size_t td_digits_text(char *p, const char *dig, int n, int x, bool fixed);

/* "%.*g" of a finite d at precision prec (1..17) into buf (size >= 32):
 * returns the length, 0 if it did not fit. */
int td_format_general(double d, int prec, char *buf, size_t size);

/* The double nearest the decimal text s[0..n) (as strtod reads it: +-inf
 * beyond the range, +-0 below it); 0 for text that is not a number. */
double td_read_double(const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif
