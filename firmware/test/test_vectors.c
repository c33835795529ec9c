/*
 * The C codec against the shared vectors (contracts/vectors/serial-frames.json, via the header
 * test/gen_vectors.py makes from it): CRC, COBS (buffer and streaming encoders), every frame
 * encoded and decoded byte for byte, every invalid frame rejected for the contract's reason, and
 * every stream split into the expected frames and errors — pushed whole and one byte at a time is
 * the same thing for this decoder, so the streams are also replayed through a second decoder
 * after every other vector to check it keeps no state across frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pp_codec.h"
#include "vectors.h"

static int passed, failed;

static void check(int ok, const char *group, const char *name, const char *what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s \"%s\": %s\n", group, name, what);
  }
}

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static uint8_t stream_buf[4096];
static size_t stream_len;
static void collect(const uint8_t *bytes, size_t n) {
  memcpy(stream_buf + stream_len, bytes, n);
  stream_len += n;
}

static uint8_t work[4096];

static void test_crc(void) {
  for (size_t i = 0; i < N_ELEMS(CRC_VECTORS); i++) {
    const v_crc *v = &CRC_VECTORS[i];
    char what[64];
    uint16_t got = pp_crc16(v->in, v->in_len);
    snprintf(what, sizeof what, "crc 0x%04x, expected 0x%04x", got, v->crc);
    check(got == v->crc, "crc16", v->name, what);
    /* Split in two updates: the running CRC is what pp_frame_send relies on. */
    size_t half = v->in_len / 2;
    uint16_t split = pp_crc16_update(pp_crc16_update(0xFFFF, v->in, half), v->in + half, v->in_len - half);
    check(split == v->crc, "crc16 split", v->name, "two updates differ from one");
  }
}

static void test_cobs(void) {
  for (size_t i = 0; i < N_ELEMS(COBS_VECTORS); i++) {
    const v_cobs *v = &COBS_VECTORS[i];
    size_t n = pp_cobs_encode(v->raw, v->raw_len, work);
    check(same(work, n, v->enc, v->enc_len), "cobs encode", v->name, "encoding differs");
    check(n <= PP_COBS_MAX(v->raw_len), "cobs bound", v->name, "longer than PP_COBS_MAX");
    stream_len = 0;
    pp_cobs_stream(v->raw, v->raw_len, collect);
    check(same(stream_buf, stream_len, v->enc, v->enc_len), "cobs stream", v->name, "streamed encoding differs");
    memcpy(work, v->enc, v->enc_len);
    long d = pp_cobs_decode(work, v->enc_len, work);
    check(d >= 0 && same(work, (size_t)d, v->raw, v->raw_len), "cobs decode in place", v->name, "decoding differs");
  }
}

static void test_frames(void) {
  for (size_t i = 0; i < N_ELEMS(FRAME_VECTORS); i++) {
    const v_frame *v = &FRAME_VECTORS[i];
    size_t n = pp_frame_encode(v->type, v->seq, v->payload, v->payload_len, V_MAX_PAYLOAD, work);
    check(same(work, n, v->wire, v->wire_len), "frame encode", v->name, "wire bytes differ");
    /* In-place sender: header room, payload, CRC room. */
    static uint8_t raw[V_MAX_RAW];
    if (v->payload_len) memcpy(raw + PP_FRAME_HEADER, v->payload, v->payload_len);
    stream_len = 0;
    pp_frame_send(raw, v->type, v->seq, v->payload_len, collect);
    check(same(stream_buf, stream_len, v->wire, v->wire_len), "frame send", v->name, "streamed wire bytes differ");
    memcpy(work, v->wire, v->wire_len);
    pp_frame f;
    int err = pp_frame_decode(work, v->wire_len - 1, V_MAX_PAYLOAD, &f);
    check(err == PP_ERR_NONE && f.type == v->type && f.seq == v->seq && same(f.payload, f.len, v->payload, v->payload_len),
          "frame decode", v->name, err ? pp_frame_error_name(err) : "fields differ");
  }
  size_t big = pp_frame_encode(PP_EVENT, 1, work, V_MAX_PAYLOAD + 1, V_MAX_PAYLOAD, stream_buf);
  check(big == 0, "frame encode", "payload over max", "accepted a 1025-byte payload");
  check(pp_frame_encode(0x08, 1, NULL, 0, V_MAX_PAYLOAD, stream_buf) == 0, "frame encode", "unknown type",
        "accepted type 0x08");
}

static void test_invalid(void) {
  for (size_t i = 0; i < N_ELEMS(INVALID_VECTORS); i++) {
    const v_invalid *v = &INVALID_VECTORS[i];
    memcpy(work, v->wire, v->wire_len);
    pp_frame f;
    int err = pp_frame_decode(work, v->wire_len - 1, V_MAX_PAYLOAD, &f);
    char what[96];
    snprintf(what, sizeof what, "reason %s, expected %s", pp_frame_error_name(err), pp_frame_error_name(v->reason));
    check(err == v->reason, "invalid", v->name, what);
  }
}

static uint8_t dec_buf[V_MAX_ENCODED];

static void run_stream(pp_decoder *d, const v_stream *v, const char *group) {
  size_t k = 0;
  int ok = 1;
  char what[160] = "";
  for (size_t i = 0; i < v->len && ok; i++) {
    pp_frame f;
    int r = pp_decoder_push(d, v->bytes[i], &f);
    if (r == 0) continue;
    if (k >= v->n_expected) {
      snprintf(what, sizeof what, "extra event %d (%s) at byte %zu", r, r < 0 ? pp_frame_error_name(r) : "frame", i);
      ok = 0;
      break;
    }
    const v_expect *e = &v->expected[k++];
    if (r > 0) {
      if (e->kind != 1 || f.type != e->type || f.seq != e->seq || !same(f.payload, f.len, e->payload, e->payload_len)) {
        snprintf(what, sizeof what, "event %zu: frame type %u seq %u len %zu differs", k - 1, f.type, f.seq, f.len);
        ok = 0;
      }
    } else if (e->kind != -1 || -r != e->reason) {
      snprintf(what, sizeof what, "event %zu: error %s, expected %s", k - 1, pp_frame_error_name(r),
               e->kind == 1 ? "a frame" : pp_frame_error_name(e->reason));
      ok = 0;
    }
  }
  if (ok && k != v->n_expected) {
    snprintf(what, sizeof what, "%zu events, expected %zu", k, v->n_expected);
    ok = 0;
  }
  check(ok, group, v->name, what);
}

static void test_streams(void) {
  pp_decoder shared;
  pp_decoder_init(&shared, dec_buf, sizeof dec_buf, V_MAX_PAYLOAD);
  static uint8_t fresh_buf[V_MAX_ENCODED];
  for (size_t i = 0; i < N_ELEMS(STREAM_VECTORS); i++) {
    pp_decoder fresh;
    pp_decoder_init(&fresh, fresh_buf, sizeof fresh_buf, V_MAX_PAYLOAD);
    run_stream(&fresh, &STREAM_VECTORS[i], "stream");
    /* Flush the shared decoder as a sender would (a leading 0x00), then replay. */
    pp_frame f;
    (void)pp_decoder_push(&shared, 0, &f);
    run_stream(&shared, &STREAM_VECTORS[i], "stream (reused decoder)");
  }
}

int main(void) {
  test_crc();
  test_cobs();
  test_frames();
  test_invalid();
  test_streams();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
