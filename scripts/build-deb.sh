#!/usr/bin/env bash
# Builds the Debian package of Daisy from a built binary (make deb).
# Usage: scripts/build-deb.sh BINARY OUTDIR
# Writes OUTDIR/daisy_<version>_<arch>.deb and prints its path. Needs no
# root: dpkg-deb --root-owner-group makes every file root's. The version is
# CMakeLists.txt's project version; the package's parts are in deploy/
# (debian/, systemd/daisy.service, default/daisy).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY OUTDIR" >&2
  exit 2
fi
binary=$1
outdir=$2
root="$(cd "$(dirname "$0")/.." && pwd)"
deb="$root/deploy/debian"

if [ ! -x "$binary" ]; then
  echo "build-deb: $binary is not an executable (build it first: make deb)" >&2
  exit 1
fi
for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog strip gzip; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-deb: $tool is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

version=$(sed -n 's/^project(daisy VERSION \([0-9][0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
if [ -z "$version" ]; then
  echo "build-deb: no project(daisy VERSION x.y.z ...) line in CMakeLists.txt" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

umask 022
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/daisy"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/default" \
  "$stage/usr/share/doc/daisy" "$stage/usr/share/man/man1"

# The changelog, whose newest entry must be this version's. When the project's
# version was raised without an entry in deploy/debian/changelog, the package
# gets one saying so (and a warning here): add a real one.
changelog="$work/changelog"
top=$(dpkg-parsechangelog -l "$deb/changelog" -SVersion)
if [ "$top" != "$version" ]; then
  echo "build-deb: warning: deploy/debian/changelog ends at $top, the project is at $version;" \
    "add an entry for $version" >&2
  {
    printf 'daisy (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Version %s (no changelog entry was written for it).\n\n' "$version"
    printf ' -- Daisy developers <daisy@example.org>  %s\n\n' \
      "$(LC_ALL=C date -u -R -d "@$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)")"
    cat "$deb/changelog"
  } >"$changelog"
else
  cp "$deb/changelog" "$changelog"
fi
# Every file's time is the newest changelog entry's: the same sources give the
# same package (dpkg-deb reads SOURCE_DATE_EPOCH too).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$changelog" -STimestamp)}
export SOURCE_DATE_EPOCH

# The files. The binary is stripped the way dh_strip does it (a copy).
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
  -o "$stage/usr/bin/daisy" "$binary"
cp "$root/deploy/systemd/daisy.service" "$stage/lib/systemd/system/daisy.service"
cp "$root/deploy/default/daisy" "$stage/etc/default/daisy"
cp "$deb/copyright" "$stage/usr/share/doc/daisy/copyright"
gzip -9n <"$changelog" >"$stage/usr/share/doc/daisy/changelog.gz"
gzip -9n <"$deb/daisy.1" >"$stage/usr/share/man/man1/daisy.1.gz"
if [ -f "$root/docs/operations.md" ]; then
  cp "$root/docs/operations.md" "$stage/usr/share/doc/daisy/operations.md"
fi
if [ -f "$deb/lintian-overrides" ]; then
  mkdir -p "$stage/usr/share/lintian/overrides"
  cp "$deb/lintian-overrides" "$stage/usr/share/lintian/overrides/daisy"
fi

# The maintainer scripts and conffiles.
for f in postinst prerm postrm; do
  cp "$deb/$f" "$stage/DEBIAN/$f"
done
cp "$deb/conffiles" "$stage/DEBIAN/conffiles"

# Permissions: directories and programs 0755, everything else 0644.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/usr/bin/daisy" "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

# md5sums of every file but the conffiles (dpkg checks those itself), for
# debsums and dpkg --verify.
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
  grep -vxF -f <(sed 's|^/||' "$deb/conffiles") | xargs -d '\n' md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

# Depends: the shared libraries the binary uses, by the packages that hold
# them (dpkg-shlibdeps reads a debian/control, hence the small one), and
# adduser for postinst.
mkdir -p "$work/shlibs/debian"
printf 'Source: daisy\n\nPackage: daisy\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$stage/usr/bin/daisy")
shlibs=${shlibs#shlibs:Depends=}
if [ -z "$shlibs" ]; then
  echo "build-deb: dpkg-shlibdeps found no shared-library dependencies" >&2
  exit 1
fi
depends="$shlibs, adduser"

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and
# one per directory or link.
installed_size=$(cd "$stage" && find . -path ./DEBIAN -prune -o -printf '%y %s\n' |
  awk '$1 == "f" { kib += int(($2 + 1023) / 1024) } $1 != "f" { kib += 1 } END { print kib }')

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@DEPENDS@/$depends/" "$deb/control" >"$stage/DEBIAN/control"
chmod 0644 "$stage/DEBIAN/control"

find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$outdir"
out="$(cd "$outdir" && pwd)/daisy_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
echo "$out"
