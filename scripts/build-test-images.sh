#!/usr/bin/env bash
# No image registry is reachable here, so the images examples and tests use are built locally:
# a root filesystem holding Debian's static busybox and its applet links, imported with `docker import`.
set -euo pipefail
image=${SKIFF_TEST_IMAGE:-busybox:1.35}
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo '<h1>hello from skiff</h1>' >"$root/www/index.html"
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$image" >/dev/null
docker tag "$image" skiff/busybox:latest
echo "built $image"
