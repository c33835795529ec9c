/*
 * The device model on a fake HAL (time, line and EEPROM in memory): HELLO on boot, events as
 * contract envelopes with UUIDv7 ids, retransmission of the identical frame until ACKed, NACK
 * handling, CONFIG stored and echoed, settings and rising sequence numbers across a reboot.
 * Prints "N passed, 0 failed" like test_vectors.
 */
#include <stdio.h>
#include <string.h>

#include "../core/pp_codec.h"
#include "../core/pp_device.h"
#include "../hal.h"

static uint32_t now_ms;
static uint8_t eeprom[1024];
static uint8_t line_in[4096];
static size_t in_len, in_pos;
static uint8_t wire[16384];
static size_t wire_len;
static int button;

uint32_t hal_millis(void) { return now_ms; }
uint64_t hal_epoch_ms(void) { return 1750000000000ULL + now_ms; }
void hal_set_epoch_ms(uint64_t e) { (void)e; }
void hal_uart_write(const uint8_t *b, size_t n) {
  memcpy(wire + wire_len, b, n);
  wire_len += n;
}
int hal_uart_read(uint8_t *b) {
  if (in_pos == in_len) return 0;
  *b = line_in[in_pos++];
  return 1;
}
void hal_eeprom_read(uint16_t a, void *d, size_t n) { memcpy(d, eeprom + a, n); }
void hal_eeprom_write(uint16_t a, const void *s, size_t n) { memcpy(eeprom + a, s, n); }
uint32_t hal_entropy(void) { return 42; }
int hal_button_pressed(void) {
  int b = button;
  button = 0;
  return b;
}
void hal_idle(void) {}

static int passed, failed;
#define CHECK(cond, what)                      \
  do {                                         \
    if (cond) {                                \
      passed++;                                \
    } else {                                   \
      failed++;                                \
      printf("FAIL line %d: %s\n", __LINE__, what); \
    }                                          \
  } while (0)

/* Frames the device wrote since the last call. */
typedef struct {
  uint8_t type;
  uint16_t seq;
  char payload[1100];
  size_t len;
} sent;
static sent frames[64];
static size_t n_frames;
static size_t wire_read;
static uint8_t dec_buf[2048];
static pp_decoder dec;

static void collect(void) {
  n_frames = 0;
  for (; wire_read < wire_len; wire_read++) {
    pp_frame f;
    if (pp_decoder_push(&dec, wire[wire_read], &f) == 1 && n_frames < 64) {
      frames[n_frames].type = f.type;
      frames[n_frames].seq = f.seq;
      memcpy(frames[n_frames].payload, f.payload, f.len);
      frames[n_frames].payload[f.len] = 0;
      frames[n_frames].len = f.len;
      n_frames++;
    }
  }
}

static void send_to_device(uint8_t type, uint16_t seq, const char *payload, size_t len) {
  uint8_t buf[1200];
  size_t n = pp_frame_encode(type, seq, (const uint8_t *)payload, len, 1024, buf);
  if (in_pos == in_len) in_len = in_pos = 0;
  if (in_len + n > sizeof line_in) return;
  memcpy(line_in + in_len, buf, n);
  in_len += n;
}

static void run_for(uint32_t ms) {
  for (uint32_t i = 0; i < ms; i += 10) {
    now_ms += 10;
    pp_device_poll();
  }
}

static int is_uuidv7(const char *s) {
  for (int i = 0; i < 36; i++) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return 0;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return 0;
    }
  }
  return s[14] == '7' && strchr("89ab", s[19]) != NULL && s[36] == '"';
}

static void boot(void) {
  in_len = in_pos = 0;
  wire_len = wire_read = 0;
  pp_decoder_init(&dec, dec_buf, sizeof dec_buf, 1024);
  pp_device_init();
  pp_device_poll();
  collect();
}

int main(void) {
  memset(eeprom, 0xFF, sizeof eeprom);
  boot();
  CHECK(n_frames == 1 && frames[0].type == PP_HELLO, "boot sends HELLO");
  CHECK(strstr(frames[0].payload, "\"device_id\":\"" PP_DEFAULT_DEVICE_ID "\"") != NULL, "HELLO names the default id");
  uint16_t hello_seq = frames[0].seq;

  run_for(600);
  collect();
  CHECK(n_frames == 1 && frames[0].type == PP_HELLO && frames[0].seq == hello_seq, "HELLO resent after 500 ms");

  send_to_device(PP_ACK, hello_seq, "", 0);
  run_for(20);
  collect();
  CHECK(n_frames == 1 && frames[0].type == PP_EVENT, "after the HELLO ACK, the boot heartbeat goes out");
  sent ev = frames[0];
  CHECK(strncmp(ev.payload, "{\"v\":1,\"event_id\":\"", 19) == 0 && is_uuidv7(ev.payload + 19), "envelope with a UUIDv7");
  CHECK(strstr(ev.payload, "\"type\":\"device.heartbeat\"") && strstr(ev.payload, "\"seq\":0,"), "heartbeat seq 0");
  CHECK(strstr(ev.payload, "\"battery_pct\":null,\"rssi_dbm\":null}}") != NULL, "heartbeat payload closes the envelope");

  run_for(600);
  collect();
  CHECK(n_frames == 1 && frames[0].seq == ev.seq && frames[0].len == ev.len && memcmp(frames[0].payload, ev.payload, ev.len) == 0,
        "retransmission is byte-identical (the gateway dedups the last ACKed frame)");
  CHECK(pp_device_stats_get()->retransmits == 2, "retransmits counted (the HELLO's and the event's)");

  /* Silence through the whole burst: the device backs off, then tries again. */
  run_for(500 * 6);
  collect();
  size_t burst = n_frames;
  CHECK(burst == 4, "a burst of PP_RETRIES attempts in all");
  run_for(1200);
  collect();
  CHECK(n_frames >= 1 && frames[0].seq == ev.seq, "after the back-off the same frame again");

  send_to_device(PP_ACK, ev.seq, "", 0);
  run_for(20);
  CHECK(pp_device_stats_get()->acked == 1, "ACK pops the event");

  /* A NACK INVALID_PAYLOAD drops the event instead of resending it. */
  button = 1;
  run_for(20);
  collect();
  CHECK(n_frames == 1 && strstr(frames[0].payload, "\"type\":\"order.status_changed\"") &&
            strstr(frames[0].payload, "\"from\":null,\"to\":\"received\""),
        "the button opens an order");
  send_to_device(PP_NACK, frames[0].seq, "\x01", 1);
  run_for(600);
  collect();
  CHECK(pp_device_stats_get()->dropped_invalid == 1 && n_frames == 0, "NACK INVALID_PAYLOAD drops, no resend");

  /* COMMAND: ACKed with its own seq. */
  send_to_device(PP_COMMAND, 4242, "{\"command\":\"order.ready\"}", 25);
  run_for(20);
  collect();
  CHECK(n_frames == 1 && frames[0].type == PP_ACK && frames[0].seq == 4242 && frames[0].len == 0, "COMMAND ACKed");

  /* CONFIG: applied, stored, echoed with the same seq, then a HELLO with the new identity. */
  const char *cfg = "{\"device_id\":\"kt-77\",\"restaurant_id\":\"rest-9\",\"heartbeat_s\":2,\"order_s\":0,\"x\":[1,{\"y\":null}]}";
  send_to_device(PP_CONFIG, 700, cfg, strlen(cfg));
  run_for(20);
  collect();
  CHECK(n_frames >= 2 && frames[0].type == PP_CONFIG_ACK && frames[0].seq == 700, "CONFIG_ACK with the CONFIG's seq");
  CHECK(strcmp(frames[0].payload,
               "{\"device_id\":\"kt-77\",\"restaurant_id\":\"rest-9\",\"heartbeat_s\":2,\"telemetry_s\":10,\"order_s\":0}") == 0,
        "CONFIG_ACK echoes the applied settings");
  CHECK(frames[1].type == PP_HELLO && strstr(frames[1].payload, "\"device_id\":\"kt-77\""), "HELLO under the new identity");

  const char *bad = "{\"device_id\":\"Not Valid\"}";
  send_to_device(PP_CONFIG, 701, bad, strlen(bad));
  const char *broken = "{\"device_id\":\"kt-1\"";
  send_to_device(PP_CONFIG, 702, broken, strlen(broken));
  run_for(20);
  collect();
  int nacks = 0;
  for (size_t i = 0; i < n_frames; i++)
    if (frames[i].type == PP_NACK && frames[i].payload[0] == PP_NACK_INVALID_PAYLOAD) nacks++;
  CHECK(nacks == 2, "invalid id and broken JSON are NACKed INVALID_PAYLOAD");
  CHECK(strcmp(pp_device_settings()->device_id, "kt-77") == 0, "a refused CONFIG changes nothing");

  uint32_t seq_before = pp_device_next_seq();
  /* Reboot: settings from EEPROM, sequence numbers keep rising. */
  boot();
  CHECK(strcmp(pp_device_settings()->device_id, "kt-77") == 0 && pp_device_settings()->heartbeat_s == 2,
        "settings survive a reboot");
  CHECK(n_frames == 1 && strstr(frames[0].payload, "\"device_id\":\"kt-77\""), "HELLO after reboot names the stored id");
  CHECK(pp_device_next_seq() > seq_before, "seq after reboot is above every seq used before");

  /* Queue overflow: counted, never blocking. */
  for (int i = 0; i < PP_QUEUE_LEN + 3; i++) pp_device_order_step();
  CHECK(pp_device_stats_get()->dropped_full >= 3, "a full queue drops new events and counts them");

  /* Telemetry renders a decimal value in range. */
  boot();
  int telemetry = 0;
  for (int step = 0; step < 1200; step++) {
    for (size_t i = 0; i < n_frames; i++) {
      if (frames[i].type == PP_EVENT || frames[i].type == PP_HELLO) send_to_device(PP_ACK, frames[i].seq, "", 0);
      if (strstr(frames[i].payload, "\"sensor\":\"fridge_temp\",\"value\":")) telemetry++;
    }
    run_for(10);
    collect();
  }
  CHECK(telemetry >= 1, "fridge telemetry is emitted");

  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
