#!/usr/bin/env bash
# Builds a local stand-in for the official `busybox` image (the notification sink's image),
# from Debian's busybox-static: no registry needed. Idempotent; --force rebuilds.
set -euo pipefail
image="${BUSYBOX_STANDIN:-stackctl-standin/busybox:latest}"
if [ "${1:-}" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "busybox-image: $image already present"; exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cache="${STANDIN_CACHE:-/var/cache/stackctl-standin}/debs"
deb=$(ls "$cache"/busybox-static_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  mkdir -p "$work/debs"
  (cd "$work/debs" && apt-get download busybox-static >/dev/null 2>&1) || { apt-get update -qq && (cd "$work/debs" && apt-get download busybox-static); }
  deb=$(ls "$work"/debs/busybox-static_*.deb | head -n1)
fi
dpkg-deb -x "$deb" "$work/unpacked"
root="$work/root"; mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/data"
cp "$work/unpacked/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
tar --numeric-owner -C "$root" -c . | docker import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "busybox-image: built $image"
