/*
 * The device model shared by every target: a kitchen terminal (order button) with a fridge
 * temperature sensor. It emits contract event envelopes (contracts/src/events/schemas.ts) as
 * EVENT frames, one outstanding at a time, retransmitted until the gateway ACKs them
 * (gateway/src/serial/bridge.ts ACKs once durable, NACKs BUSY when not).
 *
 *   boot          load settings from EEPROM, reserve a block of sequence numbers, HELLO
 *   heartbeat_s   device.heartbeat  {uptime_s, firmware, battery_pct: null, rssi_dbm: null}
 *   telemetry_s   device.telemetry  {sensor: fridge_temp, value (drifting, with a compressor cycle), unit}
 *   order_s/button order.status_changed, one order through received..picked_up
 *   CONFIG        {device_id?, restaurant_id?, heartbeat_s?, telemetry_s?, order_s?, epoch_ms?}:
 *                 stored in EEPROM, answered by CONFIG_ACK with the applied settings (same seq)
 *   COMMAND       ACKed (same seq)
 */
#ifndef PP_DEVICE_H
#define PP_DEVICE_H

#include <stdint.h>

#include "pp_config.h"

typedef struct {
  char device_id[PP_ID_MAX + 1];
  char restaurant_id[PP_ID_MAX + 1];
  uint16_t heartbeat_s;
  uint16_t telemetry_s; /* 0: off */
  uint16_t order_s;     /* 0: only the button advances orders */
} pp_settings;

typedef struct {
  uint32_t queued;
  uint32_t acked;
  uint32_t dropped_full;    /* queue full when the event was made */
  uint32_t dropped_invalid; /* NACK INVALID_PAYLOAD, or too big to render */
  uint32_t retransmits;
  uint32_t nacks_busy;
  uint32_t frame_errors;
  uint32_t commands;
  uint32_t configs;
} pp_device_stats;

/* EEPROM layout: magic "PP", layout 1, pp_settings, crc16 over the settings; seq block at 0x80. */
#define PP_EE_SETTINGS 0x00
#define PP_EE_SEQ 0x80
/* Sequence numbers are reserved in EEPROM in blocks, so they keep rising across reboots without an
 * EEPROM write per event (100 000 write cycles per cell). */
#define PP_SEQ_BLOCK 64u

void pp_device_init(void);
/* One turn of the main loop: received bytes, timers, (re)transmission. Never blocks for long. */
void pp_device_poll(void);
const pp_settings *pp_device_settings(void);
const pp_device_stats *pp_device_stats_get(void);
/* Next per-device event sequence number (for tests and logs). */
uint32_t pp_device_next_seq(void);
/* Queues one order step now, as the button does. */
void pp_device_order_step(void);

/* Writes a UUIDv7 (RFC 9562 §5.7) for unix_ms and 10 random bytes: 36 chars and a NUL. */
void pp_uuidv7(uint64_t unix_ms, const uint8_t rnd[10], char out[37]);
/* 1 if id matches the contract's ID pattern ^[a-z0-9][a-z0-9_-]{0,63}$ and fits PP_ID_MAX. */
int pp_id_valid(const char *id, uint16_t len);

#endif
