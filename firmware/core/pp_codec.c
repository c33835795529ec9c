/* Serial frame codec; see pp_codec.h and contracts/src/serial/frame.ts. */
#include "pp_codec.h"

#include <string.h>

static const char *const ERROR_NAMES[PP_ERR_COUNT] = {"none",  "cobs",        "too_short",   "too_long",
                                                      "crc",   "bad_version", "unknown_type"};

const char *pp_frame_error_name(int reason) {
  if (reason < 0) reason = -reason;
  return reason < PP_ERR_COUNT ? ERROR_NAMES[reason] : "?";
}

/* Bitwise CRC: a 512-byte table would cost a quarter of the AVR's RAM (or flash reads); 8 shifts a
 * byte are fast enough for 115200 baud. */
uint16_t pp_crc16_update(uint16_t crc, const uint8_t *bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint16_t)((uint16_t)bytes[i] << 8);
    for (uint8_t b = 0; b < 8; b++) crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
  }
  return crc;
}

uint16_t pp_crc16(const uint8_t *bytes, size_t n) { return pp_crc16_update(0xFFFFu, bytes, n); }

/* Length of the COBS block starting at src[i]: data bytes up to the next zero, at most 254. */
static size_t cobs_run(const uint8_t *src, size_t n, size_t i) {
  size_t run = 0;
  while (i + run < n && src[i + run] != 0 && run < 254) run++;
  return run;
}

/*
 * Block walk shared by the buffer and streaming encoders. A block is `code, data[code - 1]` and
 * stands for its data plus an implicit zero, except a full block (code 0xFF) has none, and the
 * last block's implicit zero is dropped. A full block at the very end of the input closes it
 * without opening an empty block (paper, section 3: 254 non-zero bytes encode to 255).
 */
size_t pp_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst) {
  size_t i = 0, w = 0;
  for (;;) {
    size_t run = cobs_run(src, n, i);
    dst[w++] = (uint8_t)(run + 1);
    memmove(dst + w, src + i, run); /* may overlap: pp_frame_encode encodes in place */
    w += run;
    i += run;
    if (run == 254) {
      if (i >= n) break;
      continue;
    }
    if (i >= n) break;
    i++; /* the zero this block stands for */
  }
  return w;
}

void pp_cobs_stream(const uint8_t *src, size_t n, pp_put_fn put) {
  size_t i = 0;
  for (;;) {
    size_t run = cobs_run(src, n, i);
    uint8_t code = (uint8_t)(run + 1);
    put(&code, 1);
    if (run > 0) put(src + i, run);
    i += run;
    if (run == 254) {
      if (i >= n) break;
      continue;
    }
    if (i >= n) break;
    i++;
  }
}

long pp_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst) {
  if (n == 0) return -1;
  size_t r = 0, w = 0;
  while (r < n) {
    uint8_t code = src[r];
    if (code == 0) return -1;
    size_t end = r + code;
    if (end > n) return -1;
    /* w <= r at every block start, so copying forward in place never overwrites unread input. */
    for (size_t i = r + 1; i < end; i++) {
      if (src[i] == 0) return -1;
      dst[w++] = src[i];
    }
    r = end;
    if (code != 0xFF && r < n) dst[w++] = 0;
  }
  return (long)w;
}

static int known_type(uint8_t type) { return type >= PP_EVENT && type <= PP_HELLO; }

size_t pp_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, size_t max_payload,
                       uint8_t *out) {
  if (!known_type(type) || len > max_payload || len > 0xFFFFu) return 0;
  /* Build the raw frame at the end of out, then encode forward: COBS output index never passes the
   * input index by more than the overhead, which the tail offset leaves room for. */
  size_t raw_len = PP_MIN_RAW_FRAME + len;
  size_t enc_max = PP_COBS_MAX(raw_len);
  uint8_t *raw = out + (enc_max + 1 - raw_len);
  if (len > 0) memmove(raw + PP_FRAME_HEADER, payload, len);
  raw[0] = PP_FRAME_VERSION;
  raw[1] = type;
  raw[2] = (uint8_t)(seq >> 8);
  raw[3] = (uint8_t)seq;
  uint16_t crc = pp_crc16(raw, PP_FRAME_HEADER + len);
  raw[raw_len - 2] = (uint8_t)(crc >> 8);
  raw[raw_len - 1] = (uint8_t)crc;
  size_t w = pp_cobs_encode(raw, raw_len, out);
  out[w++] = 0;
  return w;
}

void pp_frame_send(uint8_t *raw, uint8_t type, uint16_t seq, size_t len, pp_put_fn put) {
  static const uint8_t delimiter = 0;
  raw[0] = PP_FRAME_VERSION;
  raw[1] = type;
  raw[2] = (uint8_t)(seq >> 8);
  raw[3] = (uint8_t)seq;
  uint16_t crc = pp_crc16(raw, PP_FRAME_HEADER + len);
  raw[PP_FRAME_HEADER + len] = (uint8_t)(crc >> 8);
  raw[PP_FRAME_HEADER + len + 1] = (uint8_t)crc;
  pp_cobs_stream(raw, PP_MIN_RAW_FRAME + len, put);
  put(&delimiter, 1);
}

int pp_frame_decode(uint8_t *buf, size_t n, size_t max_payload, pp_frame *out) {
  size_t max_raw = PP_MIN_RAW_FRAME + max_payload;
  if (n > PP_COBS_MAX(max_raw)) return PP_ERR_TOO_LONG;
  long raw = pp_cobs_decode(buf, n, buf);
  if (raw < 0) return PP_ERR_COBS;
  if ((size_t)raw < PP_MIN_RAW_FRAME) return PP_ERR_TOO_SHORT;
  if ((size_t)raw > max_raw) return PP_ERR_TOO_LONG;
  size_t body = (size_t)raw - PP_FRAME_CRC;
  uint16_t expected = (uint16_t)(((uint16_t)buf[body] << 8) | buf[body + 1]);
  /* CRC before version and type: nothing in a corrupt frame can be trusted (frame.ts). */
  if (pp_crc16(buf, body) != expected) return PP_ERR_CRC;
  if (buf[0] != PP_FRAME_VERSION) return PP_ERR_BAD_VERSION;
  if (!known_type(buf[1])) return PP_ERR_UNKNOWN_TYPE;
  out->type = buf[1];
  out->seq = (uint16_t)(((uint16_t)buf[2] << 8) | buf[3]);
  out->payload = buf + PP_FRAME_HEADER;
  out->len = body - PP_FRAME_HEADER;
  return PP_ERR_NONE;
}

void pp_decoder_init(pp_decoder *d, uint8_t *buf, size_t cap, size_t max_payload) {
  memset(d, 0, sizeof *d);
  d->buf = buf;
  d->cap = cap;
  d->max_payload = max_payload;
}

int pp_decoder_push(pp_decoder *d, uint8_t byte, pp_frame *out) {
  if (byte != 0) {
    if (d->discarding) return 0;
    if (d->len >= d->cap) {
      /* Reported once, when the run crosses the limit; the rest is skipped up to its delimiter. */
      d->discarding = 1;
      d->len = 0;
      d->errors[PP_ERR_TOO_LONG]++;
      return -PP_ERR_TOO_LONG;
    }
    d->buf[d->len++] = byte;
    return 0;
  }
  if (d->discarding) {
    d->discarding = 0;
    return 0;
  }
  size_t n = d->len;
  if (n == 0) return 0; /* a flush between frames, not an error */
  d->len = 0;
  int err = pp_frame_decode(d->buf, n, d->max_payload, out);
  if (err != PP_ERR_NONE) {
    d->errors[err]++;
    return -err;
  }
  d->frames++;
  return 1;
}
