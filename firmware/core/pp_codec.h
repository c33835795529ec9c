/*
 * Serial frame codec, byte for byte the one in contracts/src/serial/frame.ts (layout comment there
 * is the spec) and checked against contracts/vectors/serial-frames.json by test/test_vectors.c:
 *
 *   raw  = version u8 (1) | type u8 | seq u16 BE | payload 0..1024 | crc16 u16 BE
 *   crc  = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0) over version..payload
 *   wire = COBS(raw) 0x00
 */
#ifndef PP_CODEC_H
#define PP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define PP_FRAME_VERSION 1
#define PP_FRAME_HEADER 4
#define PP_FRAME_CRC 2
#define PP_MIN_RAW_FRAME 6
/* COBS worst case (Cheshire & Baker 1999): n + max(1, ceil(n / 254)). */
#define PP_COBS_MAX(n) ((n) + ((n) == 0 ? 1 : ((n) + 253) / 254))

enum pp_frame_type {
  PP_EVENT = 0x01,
  PP_ACK = 0x02,
  PP_NACK = 0x03,
  PP_COMMAND = 0x04,
  PP_CONFIG = 0x05,
  PP_CONFIG_ACK = 0x06,
  PP_HELLO = 0x07
};

enum pp_nack_code { PP_NACK_INVALID_PAYLOAD = 0x01, PP_NACK_BUSY = 0x02, PP_NACK_RATE_LIMITED = 0x03 };

/* FrameErrorReason of the contract, in its check order. 0 is "no error". */
enum pp_frame_error {
  PP_ERR_NONE = 0,
  PP_ERR_COBS = 1,
  PP_ERR_TOO_SHORT = 2,
  PP_ERR_TOO_LONG = 3,
  PP_ERR_CRC = 4,
  PP_ERR_BAD_VERSION = 5,
  PP_ERR_UNKNOWN_TYPE = 6,
  PP_ERR_COUNT = 7
};

/* "cobs", "too_short", ... as the contract names them (metrics labels, test output). */
const char *pp_frame_error_name(int reason);

uint16_t pp_crc16_update(uint16_t crc, const uint8_t *bytes, size_t n);
uint16_t pp_crc16(const uint8_t *bytes, size_t n);

/* COBS-encodes src into dst (room for PP_COBS_MAX(n)); returns the encoded length. No delimiter. */
size_t pp_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst);
/*
 * Decodes n COBS bytes (no delimiter) into dst, which may equal src (decoding never grows the data).
 * Returns the decoded length, or -1 if the input is empty, holds a 0x00, or a code points past the end.
 */
long pp_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst);

/* Streams COBS(src) through put() in runs, without a second buffer. Same bytes as pp_cobs_encode. */
typedef void (*pp_put_fn)(const uint8_t *bytes, size_t n);
void pp_cobs_stream(const uint8_t *src, size_t n, pp_put_fn put);

typedef struct {
  uint8_t type;
  uint16_t seq;
  const uint8_t *payload;
  size_t len;
} pp_frame;

/*
 * Encodes a frame into wire bytes (COBS then 0x00) in out, which needs
 * PP_COBS_MAX(len + 6) + 1 bytes. Returns the wire length, or 0 for an invalid type or a payload
 * over max_payload (a bug in the sender, as in the TypeScript codec).
 */
size_t pp_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, size_t max_payload,
                       uint8_t *out);

/*
 * Sends a frame whose raw bytes are being built in place: raw[0..3] is free for the header,
 * raw[4..4+len) holds the payload and raw needs 2 more bytes for the CRC. Streams the COBS encoding
 * and the delimiter through put().
 */
void pp_frame_send(uint8_t *raw, uint8_t type, uint16_t seq, size_t len, pp_put_fn put);

/*
 * Decodes one encoded frame (no delimiter) in place. Checks in the contract's order: too_long
 * (encoded), cobs, too_short / too_long (raw), crc, bad_version, unknown_type. On success fills *out
 * (payload points into buf) and returns PP_ERR_NONE.
 */
int pp_frame_decode(uint8_t *buf, size_t n, size_t max_payload, pp_frame *out);

/*
 * Streaming decoder: bytes in, frames out. Owns no memory: buf (cap bytes, normally
 * PP_COBS_MAX(max_payload + 6)) is the caller's. A run longer than cap without a delimiter is
 * reported once as too_long and skipped to the next 0x00; empty frames (flushes) are ignored.
 */
typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t max_payload;
  size_t len;
  uint8_t discarding;
  uint32_t frames;
  uint32_t errors[PP_ERR_COUNT];
} pp_decoder;

void pp_decoder_init(pp_decoder *d, uint8_t *buf, size_t cap, size_t max_payload);
/*
 * Pushes one byte. Returns 0 (nothing yet), 1 (a frame in *out, valid until the next push), or a
 * negative pp_frame_error for a rejected frame.
 */
int pp_decoder_push(pp_decoder *d, uint8_t byte, pp_frame *out);

#endif
