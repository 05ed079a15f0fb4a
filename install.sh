#!/usr/bin/env bash
# vmaplab installer: idempotent, quiet when everything is already in place.
# Installs Debian's Jupyter, Chromium (for the browser test), numpy with OpenBLAS (a bench baseline), Mesa 25 software Vulkan (for the Dawn WebGPU executor),
# the npm packages (npm ci), builds the TypeScript, and registers the kernelspec.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(pwd)"

say() { printf '\033[1m[vmaplab install]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[vmaplab install] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }
trap 'die "step failed at line $LINENO (command: $BASH_COMMAND)"' ERR

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__nosudo__"; fi
fi

APT_PACKAGES=(jupyter-client jupyter-nbconvert python3-nbclient python3-jupyter-server jupyter-server
  jupyter-notebook python3-ipykernel chromium)
# [wasm-matmul] the OpenBLAS baseline of the benchmarks (numpy matmul under /usr/bin/python3)
APT_PACKAGES+=(python3-numpy libopenblas0-pthread)
# [end wasm-matmul]
BACKPORTS_PACKAGES=(mesa-vulkan-drivers)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

mesa_major() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'
}

OS_RELEASE="${VMAPLAB_OS_RELEASE:-/etc/os-release}"  # overridable so tests can play a non-Debian machine
is_debian() { [ -r "$OS_RELEASE" ] && grep -qE '^(ID|ID_LIKE)=.*debian' "$OS_RELEASE" && command -v apt-get >/dev/null; }

if is_debian; then
  [ "$SUDO" = "__nosudo__" ] && die "not root and sudo is missing: run as root or install sudo"
  CODENAME="$(. "$OS_RELEASE" && echo "${VERSION_CODENAME:-bookworm}")"
  need_apt=($(missing_packages "${APT_PACKAGES[@]}"))
  mesa="$(mesa_major || true)"
  need_mesa=0
  if [ -z "$mesa" ] || [ "$mesa" -lt 25 ]; then need_mesa=1; fi
  if [ "${#need_apt[@]}" -gt 0 ] || [ "$need_mesa" = 1 ]; then
    if [ "$CODENAME" = "bookworm" ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      say "adding Debian's bookworm-backports suite to apt (for Mesa 25 software Vulkan)"
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/vmaplab-backports.list >/dev/null
    fi
    say "apt-get update"
    $SUDO apt-get update -qq || die "apt-get update failed (is Debian's package mirror reachable?)"
    if [ "${#need_apt[@]}" -gt 0 ]; then
      say "installing Debian packages: ${need_apt[*]}"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
        || die "apt-get install ${need_apt[*]} failed"
    fi
    if [ "$need_mesa" = 1 ]; then
      target="$CODENAME"
      [ "$CODENAME" = "bookworm" ] && target="bookworm-backports"
      say "installing Mesa software Vulkan (mesa-vulkan-drivers from $target)"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t "$target" "${BACKPORTS_PACKAGES[@]}" >/dev/null \
        || die "apt-get install -t $target mesa-vulkan-drivers failed"
      mesa="$(mesa_major || true)"
      [ -n "$mesa" ] && [ "$mesa" -ge 25 ] || die "Mesa $mesa installed, but Dawn needs Mesa >= 25 (mesa-vulkan-drivers from bookworm-backports)"
    fi
  fi
else
  say "not a Debian system: skipping apt. Install by hand: Jupyter (jupyter_client, nbconvert, nbclient,"
  say "  jupyter_server, notebook or jupyterlab, ipykernel), a Vulkan driver for Dawn (Mesa >= 25 lavapipe"
  say "  or your GPU's driver) and Chromium at /usr/bin/chromium (browser test); then re-run ./install.sh"
fi

# npm ci only when node_modules does not match the lockfile.
STAMP=node_modules/.vmaplab-lock-stamp
LOCKSUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$LOCKSUM" ]; then
  say "npm ci (packages pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$LOCKSUM" > "$STAMP"
fi

say_build=0
if [ ! -f dist/.build-stamp ] || [ -n "$(find engine kernel bin tests bench tsconfig.json -newer dist/.build-stamp -name '*.ts' -print -quit 2>/dev/null)" ] \
   || [ tsconfig.json -nt dist/.build-stamp ]; then
  say "building TypeScript (tsc)"
  npm run --silent build || die "TypeScript build failed"
  touch dist/.build-stamp
fi

# Register the kernelspec with Jupyter (user-level, so no root needed for this step), with the same
# command users run elsewhere (`vmaplab install`). Skipped when the installed one is already this one.
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
SPEC_DIR="$ROOT/dist/kernelspec/vmaplab"
node "$ROOT/dist/bin/vmaplab.js" kernelspec "$SPEC_DIR"
INSTALLED="$("$PY" -c 'import jupyter_core.paths as p, os; print(os.path.join(p.jupyter_data_dir(), "kernels", "vmaplab", "kernel.json"))' 2>/dev/null || echo /nonexistent)"
if ! cmp -s "$SPEC_DIR/kernel.json" "$INSTALLED"; then
  say "registering the Jupyter kernel 'vmaplab' (TypeScript (vmaplab)): vmaplab install --user"
  node "$ROOT/dist/bin/vmaplab.js" install --user >/dev/null || die "vmaplab install failed (is Jupyter installed?)"
fi
say "ready."
