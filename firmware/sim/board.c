/*
 * A virtual Uno: runs an AVR firmware image (.elf) on libsimavr and exposes its UART0 on a
 * pseudo-terminal, so `pedepronto attach` (or any serial tool) talks to it like a USB-serial board.
 *
 *   pp-board IMAGE.elf [--link PATH] [--eeprom FILE] [--mcu atmega328p] [--freq 16000000] [--baud 115200] [--no-pace]
 *
 * Prints "pp-board: port /dev/pts/N" (and "pp-board: link PATH") on stdout once the pty is ready.
 * The UART bridge is done here rather than with simavr's parts/uart_pty (a second thread and a
 * fixed /tmp/simavr-uart0 link): bytes the firmware writes go to the pty master; bytes from the
 * master are fed in only while the UART signals XON (its 64-byte input FIFO has room).
 *
 * simavr runs as fast as it can, so the harness paces it to the wall clock: the firmware's
 * millis(), heartbeats and ACK timeouts then mean what they say (--no-pace turns that off).
 *
 * --eeprom keeps the EEPROM in a file: loaded at start, written back whenever it changes (checked
 * every 100 ms) and at exit, so settings survive a SIGKILL "unplug" like a real board's do.
 * SIGTERM/SIGINT: save, remove the link, exit 0.
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

#include <sim_avr.h>
#include <sim_elf.h>
#include <avr_eeprom.h>
#include <avr_uart.h>
#include <sim_irq.h>

#define EE_MAX 4096

static volatile sig_atomic_t stop_flag;
static int master = -1;
static int xoff;
static uint8_t in_buf[4096];
static size_t in_len, in_pos;
static uint8_t out_buf[4096];
static size_t out_len;
static const char *link_path;
static const char *eeprom_path;
static uint8_t ee_saved[EE_MAX];
static uint32_t ee_size;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t w = write(master, out_buf + done, out_len - done);
    if (w <= 0) break; /* nobody reading and the pty buffer full: a UART with no listener drops too */
    done += (size_t)w;
  }
  out_len = 0;
}

static void uart_out(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  if (out_len == sizeof out_buf) flush_out();
  out_buf[out_len++] = (uint8_t)value;
}

static void uart_xon(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  xoff = 0;
}

static void uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  xoff = 1;
}

/* A sleeping AVR costs no host time here; the pacing in main() keeps the clock honest. */
static void no_sleep(avr_t *avr, avr_cycle_count_t how_long) {
  (void)avr;
  (void)how_long;
}

static void save_eeprom(avr_t *avr, int force) {
  if (!eeprom_path || ee_size == 0) return;
  avr_eeprom_desc_t desc = {.ee = NULL, .offset = 0, .size = ee_size};
  avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &desc);
  if (!desc.ee || (!force && memcmp(desc.ee, ee_saved, ee_size) == 0)) return;
  memcpy(ee_saved, desc.ee, ee_size);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", eeprom_path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return;
  fwrite(ee_saved, 1, ee_size, f);
  fflush(f);
  fsync(fileno(f));
  fclose(f);
  rename(tmp, eeprom_path); /* atomic: a kill mid-write leaves the old image, as a torn cell would */
}

static void cleanup_link(const char *pts) {
  if (!link_path) return;
  char target[256];
  ssize_t n = readlink(link_path, target, sizeof target - 1);
  if (n > 0) {
    target[n] = '\0';
    if (strcmp(target, pts) == 0) unlink(link_path);
  }
}

static int usage(void) {
  fprintf(stderr, "usage: pp-board IMAGE.elf [--link PATH] [--eeprom FILE] [--mcu NAME] [--freq HZ] [--baud N] [--no-pace]\n");
  return 64;
}

int main(int argc, char **argv) {
  const char *image = NULL;
  const char *mcu = "atmega328p";
  uint32_t freq = 16000000;
  uint32_t baud = 115200;
  int pace = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--link") == 0 && i + 1 < argc) link_path = argv[++i];
    else if (strcmp(argv[i], "--eeprom") == 0 && i + 1 < argc) eeprom_path = argv[++i];
    else if (strcmp(argv[i], "--mcu") == 0 && i + 1 < argc) mcu = argv[++i];
    else if (strcmp(argv[i], "--freq") == 0 && i + 1 < argc) freq = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--baud") == 0 && i + 1 < argc) baud = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--no-pace") == 0) pace = 0;
    else if (argv[i][0] != '-' && !image) image = argv[i];
    else return usage();
  }
  if (!image) return usage();

  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (access(image, R_OK) != 0 || elf_read_firmware(image, &fw) != 0) {
    fprintf(stderr, "pp-board: cannot load %s (build it with `make -C firmware avr`)\n", image);
    return 66;
  }
  if (!fw.mmcu[0]) snprintf(fw.mmcu, sizeof fw.mmcu, "%s", mcu);
  if (!fw.frequency) fw.frequency = freq;
  avr_t *avr = avr_make_mcu_by_name(fw.mmcu);
  if (!avr) {
    fprintf(stderr, "pp-board: simavr does not know the MCU %s\n", fw.mmcu);
    return 69;
  }
  avr_init(avr);
  avr_load_firmware(avr, &fw);
  avr->sleep = no_sleep;
  avr->log = LOG_WARNING;

  /* The UART's own console echo would write the binary frames to our stdout. */
  uint32_t flags = 0;
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(uint32_t)AVR_UART_FLAG_STDIO;
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), uart_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), uart_xoff, NULL);
  avr_irq_t *uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);

  if (eeprom_path) {
    avr_eeprom_desc_t desc = {.ee = NULL, .offset = 0, .size = 0};
    avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &desc);
    ee_size = 1024; /* ATmega328P; smaller parts would need --mcu and a matching size */
    FILE *f = fopen(eeprom_path, "rb");
    if (f) {
      uint8_t buf[EE_MAX];
      size_t n = fread(buf, 1, ee_size, f);
      fclose(f);
      if (n > 0) {
        avr_eeprom_desc_t set = {.ee = buf, .offset = 0, .size = (uint32_t)n};
        avr_ioctl(avr, AVR_IOCTL_EEPROM_SET, &set);
      }
    }
    avr_eeprom_desc_t get = {.ee = ee_saved, .offset = 0, .size = ee_size};
    avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &get);
  }

  master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    perror("pp-board: posix_openpt");
    return 71;
  }
  const char *pts_name = ptsname(master);
  char pts[256];
  snprintf(pts, sizeof pts, "%s", pts_name ? pts_name : "");
  /* Raw mode on the slave side; the slave stays open here so the master never reads EIO while no
   * client has the port open (a client's own termios settings still apply once it opens it). */
  int slave = open(pts, O_RDWR | O_NOCTTY);
  if (slave >= 0) {
    struct termios t;
    if (tcgetattr(slave, &t) == 0) {
      cfmakeraw(&t);
      cfsetspeed(&t, B115200);
      tcsetattr(slave, TCSANOW, &t);
    }
  }
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  if (link_path) {
    unlink(link_path);
    if (symlink(pts, link_path) != 0) {
      fprintf(stderr, "pp-board: cannot link %s to %s: %s\n", link_path, pts, strerror(errno));
      return 73;
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  printf("pp-board: port %s\n", pts);
  if (link_path) printf("pp-board: link %s\n", link_path);
  printf("pp-board: %s on %s at %u Hz\n", image, fw.mmcu, fw.frequency);
  fflush(stdout);

  const uint64_t t0 = now_ns();
  const avr_cycle_count_t c0 = avr->cycle;
  uint64_t last_ee = t0;
  int state = cpu_Running;
  unsigned steps = 0;
  avr_cycle_count_t next_in = 0;
  const avr_cycle_count_t cycles_per_char = fw.frequency / (baud / 10);
  while (!stop_flag) {
    state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) break;
    if (++steps < 256) continue;
    steps = 0;
    if (out_len) flush_out();
    if (in_pos == in_len) {
      ssize_t r = read(master, in_buf, sizeof in_buf);
      in_len = r > 0 ? (size_t)r : 0;
      in_pos = 0;
    }
    /* One byte per character time (10 bits at the line rate): simavr's UART FIFO holds 64 bytes and
     * this simavr (1.6) does not always signal XOFF, so feeding faster would overrun it. */
    if (in_pos < in_len && !xoff && avr->cycle >= next_in) {
      avr_raise_irq(uart_in, in_buf[in_pos++]);
      next_in = avr->cycle + cycles_per_char;
    }
    if (pace) {
      uint64_t sim_ns = (uint64_t)((avr->cycle - c0) * 1000000000.0 / fw.frequency);
      uint64_t wall = now_ns() - t0;
      if (sim_ns > wall + 200000) {
        /* Ahead of the wall clock: sleep, but wake for bytes from the pty. */
        struct pollfd p = {master, POLLIN, 0};
        int ms = (int)((sim_ns - wall) / 1000000);
        poll(&p, 1, ms > 5 ? 5 : ms);
      }
    }
    uint64_t now = now_ns();
    if (now - last_ee > 100000000ull) {
      last_ee = now;
      save_eeprom(avr, 0);
    }
  }
  flush_out();
  save_eeprom(avr, 0);
  cleanup_link(pts);
  if (slave >= 0) close(slave);
  close(master);
  if (state == cpu_Crashed) {
    fprintf(stderr, "pp-board: the firmware crashed at pc 0x%04x\n", avr->pc);
    return 70;
  }
  if (state == cpu_Done) {
    fprintf(stderr, "pp-board: the firmware stopped (sleep with interrupts off, or exit)\n");
    return 0;
  }
  return 0;
}
