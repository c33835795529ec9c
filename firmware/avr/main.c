/*
 * AVR target: ATmega328P at 16 MHz (Arduino Uno, or simavr via sim/board.c).
 *   UART0   115200 8N1 with U2X (UBRR 16: 117 647 baud, +2.1 %, within the 328P's receiver tolerance),
 *           interrupt-driven receive into a 64-byte ring, blocking transmit
 *   Timer0  CTC at 1 kHz (prescaler 64, OCR0A 249) for millis()
 *   EEPROM  avr/eeprom.h (update: a cell is only rewritten when it changes)
 *   Button  PD2 (Uno pin 2) to ground, internal pull-up, 30 ms debounce
 * The wall clock is the build time (PP_BUILD_EPOCH_MS) plus millis() until a CONFIG sets epoch_ms.
 */
#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <util/atomic.h>

#include "../core/pp_device.h"
#include "../hal.h"

#ifndef PP_BUILD_EPOCH_MS
#define PP_BUILD_EPOCH_MS 1735689600000ULL /* 2025-01-01 */
#endif

/* Transmission blocks the main loop (a 384-byte frame is ~33 ms on the line), so the ring must hold
 * the largest frame the gateway sends meanwhile: a CONFIG of PP_RX_MAX_PAYLOAD (183 bytes encoded). */
#define RX_RING 192

static volatile uint32_t ms;
static volatile uint8_t rx_ring[RX_RING];
static volatile uint8_t rx_head, rx_tail;
static uint64_t epoch_base = PP_BUILD_EPOCH_MS;
static uint32_t epoch_at;
static uint8_t button_state = 1, button_stable = 1;
static uint32_t button_changed;

ISR(TIMER0_COMPA_vect) { ms++; }

ISR(USART_RX_vect) {
  uint8_t b = UDR0;
  uint8_t next = (uint8_t)(rx_head + 1 == RX_RING ? 0 : rx_head + 1);
  if (next != rx_tail) { /* full: the byte is lost and the frame fails its CRC, then is resent */
    rx_ring[rx_head] = b;
    rx_head = next;
  }
}

uint32_t hal_millis(void) {
  uint32_t t;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { t = ms; }
  return t;
}

uint64_t hal_epoch_ms(void) { return epoch_base + (uint32_t)(hal_millis() - epoch_at); }

void hal_set_epoch_ms(uint64_t epoch_ms) {
  epoch_at = hal_millis();
  epoch_base = epoch_ms;
}

void hal_uart_write(const uint8_t *bytes, size_t n) {
  while (n--) {
    while (!(UCSR0A & _BV(UDRE0))) {
    }
    UDR0 = *bytes++;
  }
}

int hal_uart_read(uint8_t *byte) {
  if (rx_tail == rx_head) return 0;
  *byte = rx_ring[rx_tail];
  rx_tail = (uint8_t)(rx_tail + 1 == RX_RING ? 0 : rx_tail + 1);
  return 1;
}

void hal_eeprom_read(uint16_t addr, void *dst, size_t n) { eeprom_read_block(dst, (const void *)addr, n); }

void hal_eeprom_write(uint16_t addr, const void *src, size_t n) { eeprom_update_block(src, (void *)addr, n); }

/* No noise source worth the name on a bare 328P; the core mixes in the per-boot seq block. */
uint32_t hal_entropy(void) { return ((uint32_t)TCNT0 << 8) ^ 0x5EEDu; }

int hal_button_pressed(void) {
  uint8_t level = (PIND & _BV(PD2)) ? 1 : 0;
  uint32_t now = hal_millis();
  if (level != button_state) {
    button_state = level;
    button_changed = now;
  }
  if (level != button_stable && now - button_changed >= 30) {
    button_stable = level;
    return level == 0; /* pressed = pulled to ground */
  }
  return 0;
}

/* Idle sleep: the next timer tick (1 ms) or received byte wakes the CPU. */
void hal_idle(void) {
  set_sleep_mode(SLEEP_MODE_IDLE);
  cli();
  if (rx_tail == rx_head) {
    sleep_enable();
    sei();
    sleep_cpu();
    sleep_disable();
  }
  sei();
}

int main(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = 16; /* F_CPU / (8 * 115200) - 1, rounded */
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
  TCCR0A = _BV(WGM01);
  TCCR0B = _BV(CS01) | _BV(CS00);
  OCR0A = 249; /* after the mode and clock: simavr only accepts OCR writes in a known mode */
  TIMSK0 = _BV(OCIE0A);
  DDRD &= (uint8_t)~_BV(PD2);
  PORTD |= _BV(PD2);
  sei();
  pp_device_init();
  for (;;) {
    pp_device_poll();
    hal_idle();
  }
}
