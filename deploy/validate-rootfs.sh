#!/usr/bin/env bash
# Shows that the published `synod` runs where no .NET is installed (docs/deploy.md, "Without the SDK"): builds a fresh
# Debian 12 root file system with debootstrap (minbase: no .NET, no SDK), adds the two libraries the binary needs
# (libssl3 for TLS, ca-certificates), copies in the self-contained binary, and inside a chroot starts a 3-replica
# cluster, writes and reads a key, asks a replica's health and stops the cluster. Needs root, debootstrap and the
# Debian mirror. Usage: deploy/validate-rootfs.sh [ROOT]   (default /tmp/synod-rootfs; kept afterwards)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-/tmp/synod-rootfs}"
publish="$(mktemp -d /tmp/synod-publish.XXXXXX)"
port=17601

[ "$(id -u)" = 0 ] || { echo "error: needs root (debootstrap and chroot); run it as root." >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "error: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

echo "== publishing a self-contained linux-x64 binary"
dotnet publish "$repo/src/Synod.Cli" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
  -p:IncludeNativeLibrariesForSelfExtract=true -o "$publish" >/dev/null
if [ ! -x "$root/bin/sh" ]; then
  echo "== debootstrap --variant=minbase bookworm $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
chroot "$root" /bin/sh -c 'apt-get install -y -qq libssl3 ca-certificates >/dev/null'
install -D -m 0755 "$publish/synod" "$root/opt/synod/synod"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
cleanup() {
  pkill -TERM -f "/opt/synod/synod cluster --replicas 3 --base-port $port" 2>/dev/null || true
  sleep 5
  umount "$root/dev" "$root/proc" 2>/dev/null || true
  rm -rf "$publish"
}
trap cleanup EXIT

if chroot "$root" /bin/sh -c 'command -v dotnet' >/dev/null; then
  echo "error: $root has dotnet; this check needs a root without it." >&2
  exit 1
fi
echo "== inside the root (Debian $(cat "$root/etc/debian_version"), no dotnet): a 3-replica cluster"
chroot "$root" /bin/sh -c "rm -rf /srv/synod && mkdir -p /srv/synod && cd /srv/synod && exec /opt/synod/synod cluster --replicas 3 --base-port $port" >"$root/cluster.log" 2>&1 &
for _ in $(seq 1 60); do grep -q "Ctrl-C stops" "$root/cluster.log" 2>/dev/null && break; sleep 0.5; done
chroot "$root" /bin/sh -c "cd /srv/synod && /opt/synod/synod put greeting 'hello from a root without .NET' --node 1 && /opt/synod/synod get greeting --node 3 && /opt/synod/synod health --endpoint 127.0.0.1:$((port + 1)) && /opt/synod/synod status"
echo "== ok: the published binary formed a cluster and served a write and a read without .NET installed"
