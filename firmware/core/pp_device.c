/* Device model and reliable sender; see pp_device.h. All state is static: no heap on an AVR. */
#include "pp_device.h"

#include <string.h>

#include "../hal.h"
#include "pp_codec.h"
#include "pp_json.h"

enum { EV_HEARTBEAT, EV_TELEMETRY, EV_STATUS };
enum { OUT_NONE, OUT_HELLO, OUT_EVENT };

/* An event waiting for its turn: the facts only; the JSON is rendered when it goes on the line. */
typedef struct {
  uint8_t kind;
  uint8_t from; /* order status index, 0xFF for null (a new order) */
  uint8_t to;
  int16_t centi; /* telemetry value in hundredths */
  uint32_t seq;
  uint32_t num; /* heartbeat: uptime_s; status: order number */
  uint64_t time_ms;
  uint8_t rnd[10]; /* the random part of the event id */
} pp_event;

#define N_STATUSES 5

/* The order lifecycle (contracts/src/events/order-status.ts), happy path only, as quoted JSON. */
static void status_json(pp_jw *w, uint8_t status) {
  switch (status) {
    case 0: pp_jw_lit(w, PP_P("\"received\"")); break;
    case 1: pp_jw_lit(w, PP_P("\"accepted\"")); break;
    case 2: pp_jw_lit(w, PP_P("\"preparing\"")); break;
    case 3: pp_jw_lit(w, PP_P("\"ready\"")); break;
    default: pp_jw_lit(w, PP_P("\"picked_up\"")); break;
  }
}

static const uint8_t EE_MAGIC[3] = {'P', 'P', 1};

static struct {
  pp_settings s;
  pp_device_stats stats;
  /* Outgoing reliable frame, built in place: header, payload, CRC. */
  uint8_t tx[PP_FRAME_HEADER + PP_MAX_PAYLOAD + PP_FRAME_CRC];
  uint16_t tx_len;
  uint8_t out;
  uint16_t out_seq;
  uint8_t attempts;
  uint32_t sent_at;
  uint32_t hold_until;
  uint8_t holding;
  uint16_t backoff_ms;
  uint8_t hello_pending;
  /* Received frames; reused as scratch for CONFIG_ACK once the CONFIG was parsed. */
  uint8_t rx[PP_COBS_MAX(PP_RX_MAX_PAYLOAD + PP_MIN_RAW_FRAME)];
  pp_decoder dec;
  pp_event queue[PP_QUEUE_LEN];
  uint8_t q_head, q_count;
  uint32_t seq, seq_reserved;
  uint64_t rng;
  uint32_t up_s, up_mark;
  uint32_t hb_at, tm_at, order_at;
  int16_t temp_centi;
  int8_t temp_trend;
  uint32_t order_num;
  uint8_t order_status; /* index into STATUSES; N_STATUSES when there is no open order */
} d;

/* xorshift64* (Vigna 2016): small, fast on 8 bits, and good enough for event ids. */
static uint64_t rand64(void) {
  d.rng ^= d.rng >> 12;
  d.rng ^= d.rng << 25;
  d.rng ^= d.rng >> 27;
  return d.rng * 0x2545F4914F6CDD1DULL;
}

static void rand_bytes(uint8_t *out, uint8_t n) {
  while (n) {
    uint64_t r = rand64();
    for (uint8_t k = 0; k < 8 && n; k++, n--, r >>= 8) *out++ = (uint8_t)r;
  }
}

void pp_uuidv7(uint64_t unix_ms, const uint8_t rnd[10], char out[37]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t b[16];
  for (int8_t i = 5; i >= 0; i--, unix_ms >>= 8) b[i] = (uint8_t)unix_ms;
  memcpy(b + 6, rnd, 10);
  b[6] = (uint8_t)(0x70 | (b[6] & 0x0F)); /* version 7 */
  b[8] = (uint8_t)(0x80 | (b[8] & 0x3F)); /* variant 10 */
  uint8_t w = 0;
  for (uint8_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[w++] = '-';
    out[w++] = hex[b[i] >> 4];
    out[w++] = hex[b[i] & 15];
  }
  out[w] = '\0';
}

int pp_id_valid(const char *id, uint16_t len) {
  if (len == 0 || len > PP_ID_MAX) return 0;
  for (uint16_t i = 0; i < len; i++) {
    char c = id[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
    if (!ok) return 0;
  }
  return 1;
}

static void put_uart(const uint8_t *bytes, size_t n) { hal_uart_write(bytes, n); }

static void send_control(uint8_t type, uint16_t seq, int8_t code) {
  uint8_t raw[PP_MIN_RAW_FRAME + 1];
  uint8_t len = 0;
  if (code >= 0) raw[PP_FRAME_HEADER + len++] = (uint8_t)code;
  pp_frame_send(raw, type, seq, len, put_uart);
}

/* ---- settings and sequence numbers in EEPROM ---- */

static void defaults(pp_settings *s) {
  memset(s, 0, sizeof *s);
  strcpy(s->device_id, PP_DEFAULT_DEVICE_ID);
  strcpy(s->restaurant_id, PP_DEFAULT_RESTAURANT_ID);
  s->heartbeat_s = PP_DEFAULT_HEARTBEAT_S;
  s->telemetry_s = PP_DEFAULT_HEARTBEAT_S;
  s->order_s = PP_DEFAULT_ORDER_S;
}

static void load_settings(void) {
  uint8_t magic[3];
  uint8_t crc[2];
  hal_eeprom_read(PP_EE_SETTINGS, magic, 3);
  hal_eeprom_read(PP_EE_SETTINGS + 3, &d.s, sizeof d.s);
  hal_eeprom_read(PP_EE_SETTINGS + 3 + sizeof d.s, crc, 2);
  uint16_t want = pp_crc16((const uint8_t *)&d.s, sizeof d.s);
  /* Blank (0xFF) or torn EEPROM, or settings that no longer validate: factory defaults. */
  if (memcmp(magic, EE_MAGIC, 3) != 0 || crc[0] != (uint8_t)(want >> 8) || crc[1] != (uint8_t)want ||
      d.s.device_id[PP_ID_MAX] != '\0' || d.s.restaurant_id[PP_ID_MAX] != '\0' ||
      !pp_id_valid(d.s.device_id, (uint16_t)strlen(d.s.device_id)) ||
      !pp_id_valid(d.s.restaurant_id, (uint16_t)strlen(d.s.restaurant_id)) || d.s.heartbeat_s == 0) {
    defaults(&d.s);
  }
}

static void save_settings(void) {
  uint16_t crc = pp_crc16((const uint8_t *)&d.s, sizeof d.s);
  uint8_t c[2] = {(uint8_t)(crc >> 8), (uint8_t)crc};
  hal_eeprom_write(PP_EE_SETTINGS, EE_MAGIC, 3);
  hal_eeprom_write(PP_EE_SETTINGS + 3, &d.s, sizeof d.s);
  hal_eeprom_write(PP_EE_SETTINGS + 3 + sizeof d.s, c, 2);
}

static void reserve_seq(void) {
  d.seq_reserved = d.seq + PP_SEQ_BLOCK;
  hal_eeprom_write(PP_EE_SEQ, &d.seq_reserved, sizeof d.seq_reserved);
}

/* ---- events ---- */

static void enqueue(pp_event *e) {
  if (d.q_count == PP_QUEUE_LEN) {
    d.stats.dropped_full++;
    return;
  }
  if (d.seq == d.seq_reserved) reserve_seq();
  e->seq = d.seq++;
  e->time_ms = hal_epoch_ms();
  rand_bytes(e->rnd, sizeof e->rnd);
  d.queue[(uint8_t)((d.q_head + d.q_count) % PP_QUEUE_LEN)] = *e;
  d.q_count++;
  d.stats.queued++;
}

static void heartbeat(void) {
  pp_event e;
  memset(&e, 0, sizeof e);
  e.kind = EV_HEARTBEAT;
  e.num = d.up_s;
  enqueue(&e);
}

/* A fridge: warms slowly while the compressor is off, cools while on, with sensor noise. */
static void telemetry(void) {
  int8_t noise = (int8_t)((int)(rand64() % 21) - 10);
  if (d.temp_centi >= 650) d.temp_trend = -18;
  if (d.temp_centi <= 250) d.temp_trend = 7;
  d.temp_centi = (int16_t)(d.temp_centi + d.temp_trend + noise);
  pp_event e;
  memset(&e, 0, sizeof e);
  e.kind = EV_TELEMETRY;
  e.centi = d.temp_centi;
  enqueue(&e);
}

void pp_device_order_step(void) {
  pp_event e;
  memset(&e, 0, sizeof e);
  e.kind = EV_STATUS;
  if (d.order_status >= N_STATUSES - 1) {
    /* The previous order was picked up (or none yet): the next one arrives. Its number is the seq
     * of its first event, unique per device across reboots. */
    d.order_num = d.seq;
    d.order_status = 0;
    e.from = 0xFF;
  } else {
    e.from = d.order_status++;
  }
  e.to = d.order_status;
  e.num = d.order_num;
  enqueue(&e);
}

/* type is a PP_P literal. */
static void envelope_head(pp_jw *w, const pp_event *e, const char *type) {
  char id[37];
  pp_uuidv7(e->time_ms, e->rnd, id);
  pp_jw_lit(w, PP_P("{\"v\":1,\"event_id\":\""));
  pp_jw_raw(w, id);
  pp_jw_lit(w, PP_P("\",\"type\":\""));
  pp_jw_lit(w, type);
  pp_jw_lit(w, PP_P("\",\"device_id\":"));
  pp_jw_str(w, d.s.device_id);
  pp_jw_lit(w, PP_P(",\"restaurant_id\":"));
  pp_jw_str(w, d.s.restaurant_id);
  pp_jw_lit(w, PP_P(",\"event_time\":"));
  pp_jw_u64(w, e->time_ms);
  pp_jw_lit(w, PP_P(",\"seq\":"));
  pp_jw_u64(w, e->seq);
  pp_jw_lit(w, PP_P(",\"payload\":{"));
}

/* Renders the envelope into the tx buffer; 0 if it does not fit PP_MAX_PAYLOAD. */
static uint16_t render(const pp_event *e) {
  pp_jw w;
  pp_jw_init(&w, (char *)d.tx + PP_FRAME_HEADER, PP_MAX_PAYLOAD);
  if (e->kind == EV_HEARTBEAT) {
    envelope_head(&w, e, PP_P("device.heartbeat"));
    pp_jw_lit(&w, PP_P("\"uptime_s\":"));
    pp_jw_u64(&w, e->num);
    /* Mains powered and wired: null, not 0 (schemas.ts, DeviceHeartbeatPayloadSchema). */
    pp_jw_lit(&w, PP_P(",\"firmware\":\"" PP_FIRMWARE "\",\"battery_pct\":null,\"rssi_dbm\":null}}"));
  } else if (e->kind == EV_TELEMETRY) {
    envelope_head(&w, e, PP_P("device.telemetry"));
    pp_jw_lit(&w, PP_P("\"sensor\":\"fridge_temp\",\"value\":"));
    pp_jw_centi(&w, e->centi);
    pp_jw_lit(&w, PP_P(",\"unit\":\"celsius\"}}"));
  } else {
    envelope_head(&w, e, PP_P("order.status_changed"));
    pp_jw_lit(&w, PP_P("\"order_id\":\""));
    pp_jw_raw(&w, d.s.device_id);
    pp_jw_lit(&w, PP_P("-o"));
    pp_jw_u64(&w, e->num);
    pp_jw_lit(&w, PP_P("\",\"from\":"));
    if (e->from == 0xFF) {
      pp_jw_lit(&w, PP_P("null"));
    } else {
      status_json(&w, e->from);
    }
    pp_jw_lit(&w, PP_P(",\"to\":"));
    status_json(&w, e->to);
    pp_jw_lit(&w, PP_P("}}"));
  }
  return w.overflow ? 0 : (uint16_t)w.len;
}

static uint16_t render_hello(void) {
  pp_jw w;
  pp_jw_init(&w, (char *)d.tx + PP_FRAME_HEADER, PP_MAX_PAYLOAD);
  pp_jw_lit(&w, PP_P("{\"device_id\":"));
  pp_jw_str(&w, d.s.device_id);
  pp_jw_lit(&w, PP_P(",\"restaurant_id\":"));
  pp_jw_str(&w, d.s.restaurant_id);
  pp_jw_lit(&w, PP_P(",\"firmware\":\"" PP_FIRMWARE "\"}"));
  return w.overflow ? 0 : (uint16_t)w.len;
}

/* ---- the one outstanding frame ---- */

static void transmit(void) {
  pp_frame_send(d.tx, d.out == OUT_HELLO ? PP_HELLO : PP_EVENT, d.out_seq, d.tx_len, put_uart);
  d.sent_at = hal_millis();
  d.attempts++;
}

static void finish(void) {
  d.out = OUT_NONE;
  d.out_seq++;
  d.attempts = 0;
}

static void pop(void) {
  d.q_head = (uint8_t)((d.q_head + 1) % PP_QUEUE_LEN);
  d.q_count--;
}

static void hold(void) {
  d.holding = 1;
  d.hold_until = hal_millis() + d.backoff_ms;
  if (d.backoff_ms < PP_BACKOFF_MAX_MS) d.backoff_ms = (uint16_t)(d.backoff_ms * 2);
  d.attempts = 0;
}

static void pump(void) {
  uint32_t now = hal_millis();
  if (d.holding) {
    if ((int32_t)(now - d.hold_until) < 0) return;
    d.holding = 0;
    if (d.out != OUT_NONE) transmit();
    return;
  }
  if (d.out != OUT_NONE) {
    if (now - d.sent_at < PP_ACK_TIMEOUT_MS) return;
    if (d.attempts >= PP_RETRIES) {
      if (d.out == OUT_HELLO) {
        /* Nobody listening: the gateway binds the line by the first valid event instead. */
        finish();
        return;
      }
      hold();
      return;
    }
    d.stats.retransmits++;
    transmit();
    return;
  }
  if (d.hello_pending) {
    d.hello_pending = 0;
    d.tx_len = render_hello();
    d.out = OUT_HELLO;
    transmit();
    return;
  }
  while (d.q_count) {
    uint16_t len = render(&d.queue[d.q_head]);
    if (len) {
      d.tx_len = len;
      d.out = OUT_EVENT;
      transmit();
      return;
    }
    d.stats.dropped_invalid++;
    pop();
  }
}

/* ---- frames from the gateway ---- */

typedef struct {
  pp_settings next;
  uint64_t epoch_ms;
  uint8_t has_epoch;
} config_parse;

static int copy_id(char *dst, const pp_jv *v) {
  if (v->kind != PP_JV_STRING || v->escaped || !pp_id_valid(v->text, (uint16_t)v->len)) return -1;
  memcpy(dst, v->text, v->len);
  dst[v->len] = '\0';
  return 0;
}

static int config_member(void *ctx, const char *key, size_t key_len, const pp_jv *v) {
  config_parse *p = (config_parse *)ctx;
  uint64_t x;
  if (pp_json_key_is(key, key_len, PP_P("device_id"))) return copy_id(p->next.device_id, v);
  if (pp_json_key_is(key, key_len, PP_P("restaurant_id"))) return copy_id(p->next.restaurant_id, v);
  if (pp_json_key_is(key, key_len, PP_P("heartbeat_s"))) {
    if (pp_jv_uint(v, 65535, &x) || x == 0) return -1;
    p->next.heartbeat_s = (uint16_t)x;
    return 0;
  }
  if (pp_json_key_is(key, key_len, PP_P("telemetry_s"))) {
    if (pp_jv_uint(v, 65535, &x)) return -1;
    p->next.telemetry_s = (uint16_t)x;
    return 0;
  }
  if (pp_json_key_is(key, key_len, PP_P("order_s"))) {
    if (pp_jv_uint(v, 65535, &x)) return -1;
    p->next.order_s = (uint16_t)x;
    return 0;
  }
  if (pp_json_key_is(key, key_len, PP_P("epoch_ms"))) {
    if (pp_jv_uint(v, 0xFFFFFFFFFFFFULL, &x)) return -1;
    p->epoch_ms = x;
    p->has_epoch = 1;
    return 0;
  }
  return 0; /* unknown keys: a newer provisioner; ignore rather than refuse */
}

static void on_config(const pp_frame *f) {
  config_parse p;
  memset(&p, 0, sizeof p);
  p.next = d.s;
  uint16_t seq = f->seq;
  if (pp_json_object((const char *)f->payload, f->len, config_member, &p) != 0) {
    send_control(PP_NACK, seq, PP_NACK_INVALID_PAYLOAD);
    return;
  }
  int identity_changed =
      strcmp(p.next.device_id, d.s.device_id) != 0 || strcmp(p.next.restaurant_id, d.s.restaurant_id) != 0;
  if (memcmp(&p.next, &d.s, sizeof d.s) != 0) {
    d.s = p.next;
    save_settings();
  }
  if (p.has_epoch) hal_set_epoch_ms(p.epoch_ms);
  d.stats.configs++;
  /* The CONFIG is parsed: its buffer is free for the answer. */
  pp_jw w;
  pp_jw_init(&w, (char *)d.rx + PP_FRAME_HEADER, sizeof d.rx - PP_MIN_RAW_FRAME);
  pp_jw_lit(&w, PP_P("{\"device_id\":"));
  pp_jw_str(&w, d.s.device_id);
  pp_jw_lit(&w, PP_P(",\"restaurant_id\":"));
  pp_jw_str(&w, d.s.restaurant_id);
  pp_jw_lit(&w, PP_P(",\"heartbeat_s\":"));
  pp_jw_u64(&w, d.s.heartbeat_s);
  pp_jw_lit(&w, PP_P(",\"telemetry_s\":"));
  pp_jw_u64(&w, d.s.telemetry_s);
  pp_jw_lit(&w, PP_P(",\"order_s\":"));
  pp_jw_u64(&w, d.s.order_s);
  pp_jw_lit(&w, PP_P("}"));
  if (w.overflow) {
    send_control(PP_NACK, seq, PP_NACK_INVALID_PAYLOAD);
    return;
  }
  pp_frame_send(d.rx, PP_CONFIG_ACK, seq, w.len, put_uart);
  uint32_t now = hal_millis();
  d.hb_at = d.tm_at = d.order_at = now;
  /* A new identity is announced, so the gateway re-pins the line (bridge.ts, #onHello), and an
   * event still waiting for its ACK is rendered again under the new identity, after the HELLO:
   * a line pinned to one device must not see the other's events. */
  if (identity_changed) {
    d.hello_pending = 1;
    if (d.out != OUT_NONE) finish();
    d.holding = 0;
  }
}

static void on_frame(const pp_frame *f) {
  switch (f->type) {
    case PP_ACK:
      /* An ACK has no payload; anything else is the CRC's known 0x00-extension (frame.ts). */
      if (d.out != OUT_NONE && f->seq == d.out_seq && f->len == 0) {
        if (d.out == OUT_EVENT) {
          pop();
          d.stats.acked++;
        }
        finish();
        d.holding = 0;
        d.backoff_ms = PP_BACKOFF_MIN_MS;
      }
      break;
    case PP_NACK:
      if (d.out != OUT_NONE && f->seq == d.out_seq && f->len == 1) {
        if (f->payload[0] == PP_NACK_INVALID_PAYLOAD) {
          /* Resending the same bytes cannot help. */
          if (d.out == OUT_EVENT) {
            pop();
            d.stats.dropped_invalid++;
          }
          finish();
        } else {
          d.stats.nacks_busy++;
          hold();
        }
      }
      break;
    case PP_COMMAND:
      d.stats.commands++;
      send_control(PP_ACK, f->seq, -1);
      break;
    case PP_CONFIG:
      on_config(f);
      break;
    default:
      break; /* EVENT, HELLO, CONFIG_ACK are device-to-gateway only */
  }
}

/* ---- main loop ---- */

void pp_device_init(void) {
  memset(&d, 0, sizeof d);
  load_settings();
  hal_eeprom_read(PP_EE_SEQ, &d.seq, sizeof d.seq);
  if (d.seq == 0xFFFFFFFFu) d.seq = 0;
  reserve_seq();
  /* A fresh seed every boot: the reserved seq block never repeats, so neither do event ids even
   * on a board whose clock restarts at the build epoch. */
  uint64_t seed = ((uint64_t)hal_entropy() << 32) ^ ((uint64_t)d.seq * 0x9E3779B97F4A7C15ULL) ^ hal_epoch_ms();
  for (const char *p = d.s.device_id; *p; p++) seed = (seed ^ (uint8_t)*p) * 0x100000001B3ULL;
  d.rng = seed ? seed : 1;
  pp_decoder_init(&d.dec, d.rx, sizeof d.rx, PP_RX_MAX_PAYLOAD);
  d.backoff_ms = PP_BACKOFF_MIN_MS;
  d.temp_centi = 400;
  d.temp_trend = 7;
  d.order_status = N_STATUSES;
  uint32_t now = hal_millis();
  d.up_mark = now;
  d.tm_at = d.order_at = now;
  d.hello_pending = 1;
  /* A leading delimiter flushes any half frame the receiver held (frame.ts). */
  static const uint8_t flush = 0;
  hal_uart_write(&flush, 1);
  heartbeat();
  d.hb_at = now;
}

void pp_device_poll(void) {
  uint8_t byte;
  pp_frame f;
  while (hal_uart_read(&byte)) {
    int r = pp_decoder_push(&d.dec, byte, &f);
    if (r > 0) on_frame(&f);
    else if (r < 0) d.stats.frame_errors++;
  }
  uint32_t now = hal_millis();
  while (now - d.up_mark >= 1000) {
    d.up_mark += 1000;
    d.up_s++;
  }
  if (now - d.hb_at >= (uint32_t)d.s.heartbeat_s * 1000u) {
    d.hb_at = now;
    heartbeat();
  }
  if (d.s.telemetry_s && now - d.tm_at >= (uint32_t)d.s.telemetry_s * 1000u) {
    d.tm_at = now;
    telemetry();
  }
  if (d.s.order_s && now - d.order_at >= (uint32_t)d.s.order_s * 1000u) {
    d.order_at = now;
    pp_device_order_step();
  }
  if (hal_button_pressed()) pp_device_order_step();
  pump();
}

const pp_settings *pp_device_settings(void) { return &d.s; }
const pp_device_stats *pp_device_stats_get(void) { return &d.stats; }
uint32_t pp_device_next_seq(void) { return d.seq; }
