#!/bin/sh
# Builds the paddock image: a static binary, then a FROM scratch image around it.
#
#   deploy/image/build.sh [tag]          (default tag: paddock:dev; `make image IMAGE=...`)
#
# Environment: GO (default go), IMAGE_CONTEXT (the directory the build context is staged in,
# default bin/image; it is emptied first), GOARCH (default: this machine's). Nothing is
# pulled: the image has no base, so this works without any registry.
set -eu

tag=${1:-paddock:dev}
root=$(cd "$(dirname "$0")/../.." && pwd)
ctx=${IMAGE_CONTEXT:-$root/bin/image}

rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/data" "$ctx/rootfs/datalog" "$ctx/rootfs/conf"
chmod 0755 "$ctx/rootfs/data" "$ctx/rootfs/datalog" "$ctx/rootfs/conf"
cp "$root/deploy/image/etc/passwd" "$root/deploy/image/etc/group" "$root/deploy/image/etc/nsswitch.conf" "$ctx/rootfs/etc/"
chmod 0644 "$ctx/rootfs/etc/"*

(cd "$root" && CGO_ENABLED=0 GOOS=linux ${GO:-go} build -trimpath -ldflags='-s -w' -o "$ctx/paddock" ./cmd/paddock)

docker build -f "$root/deploy/image/Dockerfile" -t "$tag" "$ctx"
echo "built $tag"
