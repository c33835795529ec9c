/*
 * Hardware abstraction between the portable core (core/) and a target (host/, avr/).
 * The core never touches a register, a file or a clock directly: everything it needs from the
 * board is here, so the same event logic runs as a Linux process on a pty, on an ATmega328P under
 * simavr, and on a real Uno.
 */
#ifndef PP_HAL_H
#define PP_HAL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since boot; wraps after ~49 days (the core compares with unsigned subtraction). */
uint32_t hal_millis(void);

/*
 * Wall-clock Unix time in milliseconds, for event_time and UUIDv7. The host reads the system
 * clock; a board without an RTC adds millis() to a base set by hal_set_epoch_ms (CONFIG
 * "epoch_ms") or to the build time.
 */
uint64_t hal_epoch_ms(void);
void hal_set_epoch_ms(uint64_t epoch_ms);

/* Blocking write of n bytes to the serial line. */
void hal_uart_write(const uint8_t *bytes, size_t n);
/* Next received byte into *byte: 1 if there was one, 0 if the receive buffer is empty. */
int hal_uart_read(uint8_t *byte);

/* Non-volatile settings (EEPROM). Erased cells read 0xFF. */
void hal_eeprom_read(uint16_t addr, void *dst, size_t n);
void hal_eeprom_write(uint16_t addr, const void *src, size_t n);

/* Seed material for the PRNG (need not be good: the core mixes in per-boot state). */
uint32_t hal_entropy(void);

/* 1 once per press of the order button (debounced by the target), else 0. */
int hal_button_pressed(void);

/* Waits a little (until an interrupt, a received byte, or at most a few ms). */
void hal_idle(void);

#endif
