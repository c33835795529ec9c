/* See pp_json.h. The reader follows RFC 8259's grammar; it is strict because a payload that
 * fails to parse must not be half-applied (frame.ts, "Known limitation of the checksum"). */
#include "pp_json.h"

#include <string.h>

void pp_jw_init(pp_jw *w, char *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = 0;
}

static void put(pp_jw *w, char c) {
  if (w->len < w->cap) w->buf[w->len++] = c;
  else w->overflow = 1;
}

void pp_jw_raw(pp_jw *w, const char *text) {
  while (*text) put(w, *text++);
}

void pp_jw_lit(pp_jw *w, const char *flash_text) {
  for (char c = PP_PGM_BYTE(flash_text); c; c = PP_PGM_BYTE(++flash_text)) put(w, c);
}

void pp_jw_str(pp_jw *w, const char *text) {
  static const char hex[] = "0123456789abcdef";
  put(w, '"');
  for (; *text; text++) {
    unsigned char c = (unsigned char)*text;
    if (c == '"' || c == '\\') {
      put(w, '\\');
      put(w, (char)c);
    } else if (c < 0x20) {
      pp_jw_lit(w, PP_P("\\u00"));
      put(w, hex[c >> 4]);
      put(w, hex[c & 15]);
    } else {
      put(w, (char)c);
    }
  }
  put(w, '"');
}

void pp_jw_u64(pp_jw *w, uint64_t value) {
  char digits[20];
  uint8_t n = 0;
  do {
    digits[n++] = (char)('0' + (value % 10));
    value /= 10;
  } while (value);
  while (n) put(w, digits[--n]);
}

void pp_jw_centi(pp_jw *w, int32_t centi) {
  uint32_t mag = centi < 0 ? (uint32_t)(-(centi + 1)) + 1u : (uint32_t)centi;
  if (centi < 0) put(w, '-');
  pp_jw_u64(w, mag / 100);
  put(w, '.');
  put(w, (char)('0' + (mag % 100) / 10));
  put(w, (char)('0' + mag % 10));
}

typedef struct {
  const char *s;
  size_t n;
  size_t i;
} cursor;

static void ws(cursor *c) {
  while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}

static int lit(cursor *c, const char *word) {
  for (; *word; word++, c->i++)
    if (c->i >= c->n || c->s[c->i] != *word) return -1;
  return 0;
}

static int is_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }

static int string(cursor *c, pp_jv *v) {
  if (c->i >= c->n || c->s[c->i] != '"') return -1;
  size_t start = ++c->i;
  v->escaped = 0;
  while (c->i < c->n) {
    unsigned char ch = (unsigned char)c->s[c->i];
    if (ch == '"') {
      v->kind = PP_JV_STRING;
      v->text = c->s + start;
      v->len = c->i - start;
      c->i++;
      return 0;
    }
    if (ch < 0x20) return -1;
    if (ch == '\\') {
      v->escaped = 1;
      if (++c->i >= c->n) return -1;
      char e = c->s[c->i];
      if (e == 'u') {
        for (int k = 0; k < 4; k++)
          if (++c->i >= c->n || !is_hex(c->s[c->i])) return -1;
      } else if (!strchr("\"\\/bfnrt", e)) {
        return -1;
      }
    }
    c->i++;
  }
  return -1;
}

static int digits(cursor *c) {
  size_t start = c->i;
  while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
  return c->i > start ? 0 : -1;
}

static int number(cursor *c, pp_jv *v) {
  size_t start = c->i;
  if (c->i < c->n && c->s[c->i] == '-') c->i++;
  if (c->i < c->n && c->s[c->i] == '0') c->i++;
  else if (digits(c)) return -1;
  if (c->i < c->n && c->s[c->i] == '.') {
    c->i++;
    if (digits(c)) return -1;
  }
  if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
    c->i++;
    if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
    if (digits(c)) return -1;
  }
  v->kind = PP_JV_NUMBER;
  v->text = c->s + start;
  v->len = c->i - start;
  return 0;
}

static int value(cursor *c, pp_jv *v, int depth);

static int members(cursor *c, int depth, pp_json_member_fn fn, void *ctx) {
  if (c->i >= c->n || c->s[c->i] != '{') return -1;
  c->i++;
  ws(c);
  if (c->i < c->n && c->s[c->i] == '}') {
    c->i++;
    return 0;
  }
  for (;;) {
    pp_jv key, val;
    ws(c);
    if (string(c, &key)) return -1;
    ws(c);
    if (c->i >= c->n || c->s[c->i] != ':') return -1;
    c->i++;
    ws(c);
    if (value(c, &val, depth + 1)) return -1;
    if (fn && fn(ctx, key.text, key.len, &val)) return -1;
    ws(c);
    if (c->i >= c->n) return -1;
    if (c->s[c->i] == ',') {
      c->i++;
      continue;
    }
    if (c->s[c->i] == '}') {
      c->i++;
      return 0;
    }
    return -1;
  }
}

static int value(cursor *c, pp_jv *v, int depth) {
  if (depth > 8 || c->i >= c->n) return -1; /* bounded recursion: the AVR stack is small */
  size_t start = c->i;
  char ch = c->s[c->i];
  int r;
  if (ch == '"') return string(c, v);
  if (ch == '{') {
    r = members(c, depth, NULL, NULL);
    v->kind = PP_JV_OBJECT;
  } else if (ch == '[') {
    c->i++;
    ws(c);
    r = 0;
    if (c->i < c->n && c->s[c->i] == ']') {
      c->i++;
    } else {
      for (;;) {
        pp_jv item;
        ws(c);
        if (value(c, &item, depth + 1)) return -1;
        ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
          c->i++;
          continue;
        }
        if (c->i < c->n && c->s[c->i] == ']') {
          c->i++;
          break;
        }
        return -1;
      }
    }
    v->kind = PP_JV_ARRAY;
  } else if (ch == 't') {
    r = lit(c, "true");
    v->kind = PP_JV_TRUE;
  } else if (ch == 'f') {
    r = lit(c, "false");
    v->kind = PP_JV_FALSE;
  } else if (ch == 'n') {
    r = lit(c, "null");
    v->kind = PP_JV_NULL;
  } else {
    return number(c, v);
  }
  v->text = c->s + start;
  v->len = c->i - start;
  v->escaped = 0;
  return r;
}

int pp_json_object(const char *text, size_t n, pp_json_member_fn fn, void *ctx) {
  cursor c = {text, n, 0};
  ws(&c);
  if (members(&c, 0, fn, ctx)) return -1;
  ws(&c);
  return c.i == c.n ? 0 : -1;
}

int pp_jv_uint(const pp_jv *v, uint64_t max, uint64_t *out) {
  if (v->kind != PP_JV_NUMBER || v->len == 0 || v->len > 19) return -1;
  uint64_t x = 0;
  for (size_t i = 0; i < v->len; i++) {
    char ch = v->text[i];
    if (ch < '0' || ch > '9') return -1;
    x = x * 10 + (uint64_t)(ch - '0');
  }
  if (x > max) return -1;
  *out = x;
  return 0;
}

int pp_jv_is(const pp_jv *v, const char *s) {
  return v->kind == PP_JV_STRING && !v->escaped && strlen(s) == v->len && memcmp(v->text, s, v->len) == 0;
}

int pp_json_key_is(const char *key, size_t key_len, const char *name) {
  size_t i = 0;
  for (; i < key_len; i++)
    if (PP_PGM_BYTE(name + i) != key[i]) return 0;
  return PP_PGM_BYTE(name + i) == '\0';
}
