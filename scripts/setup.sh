#!/usr/bin/env bash
# Brings a checkout to a runnable state: Debian tools (when run as root, or says what to install),
# npm dependencies (npm ci when the lock changed), and the TypeScript build. Idempotent and quick
# when nothing changed; `npm test` and `npm run demo` run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(mosquitto mosquitto-clients socat kcat simavr libsimavr-dev libelf-dev gcc-avr avr-libc avrdude)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 69
  fi
fi

for tool in java mvn python3 node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required (see README, Prerequisites)" >&2; exit 69; }
done

# npm ci when node_modules is missing or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

echo "setup: building TypeScript (tsc -b)"
npx tsc -b

# The virtual AVR board for the demo and the HIL test (the tests build it too; this is a head start).
if command -v avr-gcc >/dev/null && [[ -f /usr/include/simavr/sim_avr.h ]]; then
  make -s -C firmware avr sim-harness >/dev/null 2>&1 || echo "setup: firmware build failed; run \`make -C firmware avr sim-harness\` to see why (the demo runs without the board)"
fi
