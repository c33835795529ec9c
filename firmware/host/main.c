/*
 * Host target: the firmware as a Linux process on a serial device or pty (e.g. one end of a socat
 * pair, or a real USB-serial adapter).
 *
 *   pp-device PORT [--eeprom FILE] [--baud N]
 *
 * The line is put in raw mode (termios); time comes from clock_gettime; the EEPROM is a 1 KB file
 * (created erased, 0xFF). SIGUSR1 presses the order button. Exits 0 on SIGINT/SIGTERM, 74 when the
 * line goes away (EIO/hang-up: the pty's other end closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../core/pp_device.h"
#include "../hal.h"

#define EEPROM_SIZE 1024

static int fd = -1;
static const char *eeprom_path;
static uint8_t eeprom[EEPROM_SIZE];
static struct timespec boot;
static volatile sig_atomic_t stop_flag, button_flag;
static uint8_t rx_buf[512];
static ssize_t rx_len, rx_pos;

static void die_io(const char *what) {
  fprintf(stderr, "pp-device: %s: %s\n", what, strerror(errno));
  exit(74);
}

uint32_t hal_millis(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint32_t)((t.tv_sec - boot.tv_sec) * 1000 + (t.tv_nsec - boot.tv_nsec) / 1000000);
}

uint64_t hal_epoch_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* The host has a real clock; CONFIG's epoch_ms is for boards without one. */
void hal_set_epoch_ms(uint64_t epoch_ms) { (void)epoch_ms; }

void hal_uart_write(const uint8_t *bytes, size_t n) {
  while (n) {
    ssize_t w = write(fd, bytes, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      die_io("write");
    }
    bytes += w;
    n -= (size_t)w;
  }
}

int hal_uart_read(uint8_t *byte) {
  if (rx_pos == rx_len) {
    rx_len = read(fd, rx_buf, sizeof rx_buf);
    rx_pos = 0;
    if (rx_len < 0) {
      rx_len = 0;
      if (errno == EAGAIN || errno == EINTR) return 0;
      die_io("read");
    }
    if (rx_len == 0) return 0;
  }
  *byte = rx_buf[rx_pos++];
  return 1;
}

void hal_eeprom_read(uint16_t addr, void *dst, size_t n) {
  if (addr + n > EEPROM_SIZE) n = addr < EEPROM_SIZE ? EEPROM_SIZE - addr : 0;
  memcpy(dst, eeprom + addr, n);
}

void hal_eeprom_write(uint16_t addr, const void *src, size_t n) {
  if (addr + n > EEPROM_SIZE) return;
  memcpy(eeprom + addr, src, n);
  if (!eeprom_path) return;
  int e = open(eeprom_path, O_WRONLY | O_CREAT, 0644);
  if (e < 0 || pwrite(e, eeprom, EEPROM_SIZE, 0) != EEPROM_SIZE) fprintf(stderr, "pp-device: cannot write %s\n", eeprom_path);
  if (e >= 0) {
    fsync(e);
    close(e);
  }
}

uint32_t hal_entropy(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint32_t)t.tv_nsec ^ ((uint32_t)getpid() << 16);
}

int hal_button_pressed(void) {
  if (!button_flag) return 0;
  button_flag = 0;
  return 1;
}

void hal_idle(void) {
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 5) > 0 && (p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLIN)) {
    errno = EIO;
    die_io("line hung up");
  }
}

static void on_signal(int sig) {
  if (sig == SIGUSR1) button_flag = 1;
  else stop_flag = 1;
}

static speed_t baud_const(long baud) {
  switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 230400: return B230400;
    default: return B115200;
  }
}

int main(int argc, char **argv) {
  const char *port = NULL;
  long baud = 115200;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--eeprom") == 0 && i + 1 < argc) eeprom_path = argv[++i];
    else if (strcmp(argv[i], "--baud") == 0 && i + 1 < argc) baud = strtol(argv[++i], NULL, 10);
    else if (argv[i][0] != '-' && !port) port = argv[i];
    else {
      fprintf(stderr, "usage: pp-device PORT [--eeprom FILE] [--baud N]\n");
      return 64;
    }
  }
  if (!port) {
    fprintf(stderr, "usage: pp-device PORT [--eeprom FILE] [--baud N]\n");
    return 64;
  }
  memset(eeprom, 0xFF, sizeof eeprom);
  if (eeprom_path) {
    int e = open(eeprom_path, O_RDONLY);
    if (e >= 0) {
      if (read(e, eeprom, sizeof eeprom) < 0) fprintf(stderr, "pp-device: cannot read %s\n", eeprom_path);
      close(e);
    }
  }
  fd = open(port, O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    fprintf(stderr, "pp-device: cannot open %s: %s (is the port path right?)\n", port, strerror(errno));
    return 66;
  }
  struct termios t;
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    cfsetispeed(&t, baud_const(baud));
    cfsetospeed(&t, baud_const(baud));
    t.c_cflag |= CLOCAL | CREAD;
    tcsetattr(fd, TCSANOW, &t);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  clock_gettime(CLOCK_MONOTONIC, &boot);
  pp_device_init();
  const pp_settings *s = pp_device_settings();
  fprintf(stderr, "pp-device: %s/%s on %s, heartbeat %u s, next seq %lu\n", s->restaurant_id, s->device_id, port,
          s->heartbeat_s, (unsigned long)pp_device_next_seq());
  while (!stop_flag) {
    pp_device_poll();
    hal_idle();
  }
  const pp_device_stats *st = pp_device_stats_get();
  fprintf(stderr, "pp-device: stopped: %lu queued, %lu acked, %lu retransmits, %lu dropped\n", (unsigned long)st->queued,
          (unsigned long)st->acked, (unsigned long)st->retransmits,
          (unsigned long)(st->dropped_full + st->dropped_invalid));
  return 0;
}
