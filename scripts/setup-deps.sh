#!/usr/bin/env bash
# Installs the Debian tools the engine and board tests need (qemu, cross compilers, SIMDe
# headers), only when one is missing. wasm2c and wasm-interp come from the npm package wabt
# (package.json), not from Debian (compiler/engines/wabt.ts). Called by `npm test`; safe to
# run by hand. As a non-root user outside CI it only names what is missing (the engines
# that need it are then skipped).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
[ -f /usr/include/simde/wasm/simd128.h ] || need+=(libsimde-dev)
have qemu-aarch64 || need+=(qemu-user)
have qemu-system-arm || need+=(qemu-system-arm)
have qemu-system-riscv32 || need+=(qemu-system-misc)
have aarch64-linux-gnu-gcc || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
have riscv64-linux-gnu-gcc || need+=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)
have arm-none-eabi-gcc || need+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
# Board toolchains and emulators: each board profile (targets/*.json) names its tools and
# their Debian packages, so a new board needs no line here.
while read -r tool pkgs; do
  [ -n "$tool" ] && { have "$tool" || need+=($pkgs); }
done < <(node -e '
  const fs = require("fs"), path = require("path"), dir = path.join(process.argv[1], "targets");
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const t = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")), p = t.board?.packages;
    if (!p) continue;
    const pk = (s) => s.split("+").map((x) => x.trim()).join(" ");
    console.log(t.cc, pk(p.cc));
    console.log(t.cc.replace(/gcc$/, "size"), pk(p.size));
    if (t.emulator) console.log(t.emulator, pk(p.emulator));
  }' "$(cd "$(dirname "$0")/.." && pwd)")
# Optional: headless Chromium for `npm run check:report` (not needed by npm test).
if [ -n "${EDGEQ_WITH_CHROMIUM:-}" ]; then have chromium || need+=(chromium); fi
# Optional: the C++ cross compilers for llama.cpp's AArch64 and RISC-V builds in
# `npm run bench -- devices` (bench/peers/llama-cpp.ts; not needed by npm test).
if [ -n "${EDGEQ_WITH_PEERS:-}" ]; then
  have aarch64-linux-gnu-g++ || need+=(g++-aarch64-linux-gnu)
  have riscv64-linux-gnu-g++ || need+=(g++-riscv64-linux-gnu)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  # Not root: nothing can be installed. Locally the tests that need a missing tool skip
  # its engine with a note; under CI the suite must have every engine, so stop here.
  echo "setup-deps: missing Debian packages: ${need[*]} (as root: apt-get install ${need[*]})" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "setup-deps: going on without them; the engines that need them are skipped." >&2
  exit 0
fi
echo "setup-deps: installing ${need[*]} (one time)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
