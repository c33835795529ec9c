/*
 * Compile-time limits. The host build speaks the full contract (1024-byte payloads); the AVR build
 * keeps its buffers small enough for the 2 KB of an ATmega328P (see avr/Makefile flags).
 */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

/* Largest payload this build sends (the contract allows 1024: contracts/src/serial/frame.ts). */
#ifndef PP_MAX_PAYLOAD
#define PP_MAX_PAYLOAD 1024
#endif

/* Largest payload this build accepts (CONFIG, COMMAND); bigger frames are dropped as too_long. */
#ifndef PP_RX_MAX_PAYLOAD
#define PP_RX_MAX_PAYLOAD 1024
#endif

/* Events waiting for their turn behind the one outstanding frame. */
#ifndef PP_QUEUE_LEN
#define PP_QUEUE_LEN 32
#endif

/* Longest device or restaurant id (the contract allows 64; order ids append "-o" and a u32). */
#define PP_ID_MAX 40

#ifndef PP_FIRMWARE
#define PP_FIRMWARE "pp-host/1.0.0"
#endif

#ifndef PP_DEFAULT_DEVICE_ID
#define PP_DEFAULT_DEVICE_ID "kitchen-0001"
#endif
#ifndef PP_DEFAULT_RESTAURANT_ID
#define PP_DEFAULT_RESTAURANT_ID "rest-0001"
#endif
#ifndef PP_DEFAULT_HEARTBEAT_S
#define PP_DEFAULT_HEARTBEAT_S 10
#endif
#ifndef PP_DEFAULT_ORDER_S
#define PP_DEFAULT_ORDER_S 15
#endif

/* Retransmission: one outstanding frame, resent after the timeout, a burst of PP_RETRIES. */
#ifndef PP_ACK_TIMEOUT_MS
#define PP_ACK_TIMEOUT_MS 500
#endif
#ifndef PP_RETRIES
#define PP_RETRIES 5
#endif
/* After a burst went unanswered (or a NACK BUSY), wait this long, doubling up to the max. */
#define PP_BACKOFF_MIN_MS 1000
#define PP_BACKOFF_MAX_MS 8000

#endif
