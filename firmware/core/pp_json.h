/*
 * Just enough JSON for a device: a bounded writer for the event envelopes, and a strict reader for
 * the flat objects the gateway sends (CONFIG, COMMAND). No allocation, no floating point.
 */
#ifndef PP_JSON_H
#define PP_JSON_H

#include <stddef.h>
#include <stdint.h>

/*
 * String literals: on an AVR they would be copied into the 2 KB of RAM at start-up, so the core
 * keeps them in flash (PSTR) and reads them back byte by byte. PP_P marks such a literal.
 */
#ifdef __AVR__
#include <avr/pgmspace.h>
#define PP_P(s) PSTR(s)
#define PP_PGM_BYTE(p) ((char)pgm_read_byte(p))
#else
#define PP_P(s) (s)
#define PP_PGM_BYTE(p) (*(p))
#endif

typedef struct {
  char *buf;
  size_t cap;
  size_t len;
  uint8_t overflow; /* set once anything did not fit; the text is then unusable */
} pp_jw;

void pp_jw_init(pp_jw *w, char *buf, size_t cap);
void pp_jw_raw(pp_jw *w, const char *text);
/* A PP_P literal, written as is. */
void pp_jw_lit(pp_jw *w, const char *flash_text);
/* A quoted string; '"', '\\' and control characters are escaped. */
void pp_jw_str(pp_jw *w, const char *text);
void pp_jw_u64(pp_jw *w, uint64_t value);
/* Hundredths as a decimal number: -307 -> -3.07. */
void pp_jw_centi(pp_jw *w, int32_t centi);

enum pp_jv_kind { PP_JV_STRING, PP_JV_NUMBER, PP_JV_TRUE, PP_JV_FALSE, PP_JV_NULL, PP_JV_OBJECT, PP_JV_ARRAY };

typedef struct {
  uint8_t kind;
  const char *text; /* strings: the characters between the quotes, escapes not decoded */
  size_t len;
  uint8_t escaped; /* a string containing a backslash escape */
} pp_jv;

typedef int (*pp_json_member_fn)(void *ctx, const char *key, size_t key_len, const pp_jv *value);

/*
 * Walks the members of one JSON object (nested values are checked and skipped). Returns 0 when the
 * whole input is exactly one well-formed object and every callback returned 0, else -1.
 */
int pp_json_object(const char *text, size_t n, pp_json_member_fn fn, void *ctx);

/* Non-negative integer without sign, fraction or exponent; -1 if not one or over max. */
int pp_jv_uint(const pp_jv *v, uint64_t max, uint64_t *out);
/* 1 if the value is the string `s` (no escapes). */
int pp_jv_is(const pp_jv *v, const char *s);
/* 1 if key (key_len bytes) equals the PP_P literal name. */
int pp_json_key_is(const char *key, size_t key_len, const char *name);

#endif
