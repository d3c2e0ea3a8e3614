#!/usr/bin/env bash
# Makes the base image of docker/Dockerfile (default `debian:bookworm-slim`) available on a Docker
# engine that cannot reach a registry: if the image is neither present nor pullable, build a
# minimal Debian root file system from Debian's packages with debootstrap and `docker import` it
# under the same tag. The Dockerfile then builds unchanged, here or where the registry is reachable.
#
# Usage: docker/make-base.sh [TAG] [SUITE]      (defaults: debian:bookworm-slim bookworm)
# Env:   DEBIAN_MIRROR (default: the Debian mirror apt on this host is configured with)
set -euo pipefail
tag="${1:-debian:bookworm-slim}"
suite="${2:-bookworm}"
log() { echo "[make-base] $*" >&2; }
# The first Debian archive URI of apt's own sources (deb822 or one-line format).
apt_mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
  } | awk '$2 !~ /-security/ {print $2; exit}'
}

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag present"
  exit 0
fi
if timeout 60 docker pull -q "$tag" >/dev/null 2>&1; then
  log "$tag pulled from the registry"
  exit 0
fi
mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
if [ -z "$mirror" ]; then
  log "$tag cannot be pulled and apt has no Debian mirror configured: set DEBIAN_MIRROR"
  exit 1
fi
log "$tag cannot be pulled: building it with debootstrap ($suite from $mirror)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v debootstrap >/dev/null 2>&1; then
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >&2
fi
root="$(mktemp -d)"
trap '$SUDO rm -rf "$root"' EXIT
$SUDO debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2
# Like the official slim image: no apt lists or caches in the layer.
$SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
$SUDO tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$tag" >&2
log "$tag imported ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
