#!/usr/bin/env bash
# Builds the Debian package (scripts/build-deb.sh) from BINARY into a temporary
# directory and checks it: its files, control fields and conffiles, that the
# binary inside runs, that /etc/default/daisy names every DAISY_* setting, that
# lintian reports no errors, and that systemd-analyze verify accepts the unit.
# Installs nothing and needs neither root nor a running systemd.
# Usage: tests/deb_test.sh BINARY   (e.g. build/release/daisy)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BINARY" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# The binary may be an ASan build (build/asan): leaks at exit are not ours to judge here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

failures=0
fail() {
  echo "deb_test: FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "deb_test: ok: $*"; }

for tool in dpkg-deb lintian systemd-analyze; do
  if ! command -v "$tool" >/dev/null; then
    echo "deb_test: FAIL: $tool is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

version=$(sed -n 's/^project(daisy VERSION \([0-9][0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Build.
if ! package=$("$root/scripts/build-deb.sh" "$binary" "$tmp/out"); then
  echo "deb_test: FAIL: scripts/build-deb.sh failed" >&2
  exit 1
fi
if [ "$package" != "$tmp/out/daisy_${version}_${arch}.deb" ] || [ ! -f "$package" ]; then
  echo "deb_test: FAIL: expected $tmp/out/daisy_${version}_${arch}.deb, build-deb.sh printed '$package'" >&2
  exit 1
fi
ok "built $(basename "$package") ($(du -h "$package" | cut -f1))"

# Contents: the files, root-owned, with their modes.
dpkg-deb -c "$package" >"$tmp/contents"
expect_file() {  # MODE PATH
  if ! awk -v mode="$1" -v path="./$2" '$1 == mode && $2 == "root/root" && $NF == path { found = 1 } END { exit !found }' \
    "$tmp/contents"; then
    fail "the package has no $1 root/root ./$2"
  fi
}
expect_file -rwxr-xr-x usr/bin/daisy
expect_file -rw-r--r-- lib/systemd/system/daisy.service
expect_file -rw-r--r-- etc/default/daisy
expect_file -rw-r--r-- usr/share/doc/daisy/copyright
expect_file -rw-r--r-- usr/share/doc/daisy/changelog.gz
if awk '$2 != "root/root"' "$tmp/contents" | grep -q .; then
  fail "files not owned by root: $(awk '$2 != "root/root" { print $NF }' "$tmp/contents" | tr '\n' ' ')"
fi
ok "contents: $(wc -l <"$tmp/contents") entries"

# Control fields.
field() { dpkg-deb -f "$package" "$1"; }
[ "$(field Package)" = daisy ] || fail "Package is '$(field Package)', not daisy"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', CMakeLists.txt says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)', not $arch"
depends=$(field Depends)
for dep in libc6 adduser; do
  if ! grep -Eq "(^|[,|]) *$dep( |,|$)" <<<"$depends"; then
    fail "Depends lacks $dep: $depends"
  fi
done
[ -n "$(field Installed-Size)" ] || fail "no Installed-Size"
ok "fields: $(field Package) $(field Version) $(field Architecture); Depends: $depends"

# Control files.
dpkg-deb -e "$package" "$tmp/control"
if ! grep -qx /etc/default/daisy "$tmp/control/conffiles"; then
  fail "conffiles does not list /etc/default/daisy"
fi
for script in postinst prerm postrm; do
  if [ ! -x "$tmp/control/$script" ]; then
    fail "no executable $script"
  elif ! sh -n "$tmp/control/$script"; then
    fail "$script is not valid sh"
  fi
done
ok "conffiles and maintainer scripts"

# The binary inside runs.
dpkg-deb -x "$package" "$tmp/root"
if ! got=$("$tmp/root/usr/bin/daisy" version 2>&1); then
  fail "the packaged daisy version failed: $got"
elif [ "$got" != "daisy $version" ]; then
  fail "the packaged daisy version printed '$got', not 'daisy $version'"
else
  ok "usr/bin/daisy version: $got"
fi

# /etc/default/daisy names every DAISY_* setting of serve (and of the other
# commands, which take the store's), and none that does not exist.
defaults="$tmp/root/etc/default/daisy"
settings=$(for cmd in serve migrate check backup admin-token; do
  "$binary" "$cmd" --help 2>&1 || true
done | grep -o 'DAISY_[A-Z0-9_]*' | sort -u)
if [ -z "$settings" ]; then
  fail "'$binary serve --help' names no DAISY_* variable"
fi
for var in $settings; do
  grep -Eq "^#? *$var=" "$defaults" || fail "etc/default/daisy lacks $var"
done
while read -r var; do
  grep -qx "$var" <<<"$settings" || fail "etc/default/daisy names $var, which daisy does not know"
done < <(grep -Eo '^#? *DAISY_[A-Z0-9_]+=' "$defaults" | grep -o 'DAISY_[A-Z0-9_]*' | sort -u)
# Nothing is set there: the defaults are the binary's (only comments and blank lines).
if grep -Ev '^(#.*)?$' "$defaults" | grep -q .; then
  fail "etc/default/daisy sets something: $(grep -Ev '^(#.*)?$' "$defaults" | head -3)"
fi
ok "etc/default/daisy names all $(wc -w <<<"$settings") DAISY_* settings, commented out"

# The unit: hardened, Type=notify.
unit="$tmp/root/lib/systemd/system/daisy.service"
for line in Type=notify NotifyAccess=main User=daisy ExecStart=/usr/bin/daisy\ serve \
  Environment=DAISY_DATA_DIR=/var/lib/daisy EnvironmentFile=-/etc/default/daisy StateDirectory=daisy \
  Restart=on-failure WatchdogSec=30s LimitNOFILE=65536 ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  NoNewPrivileges=yes CapabilityBoundingSet= WantedBy=multi-user.target; do
  grep -qx "$line" "$unit" || fail "daisy.service lacks the line $line"
done

# systemd-analyze verify checks that ExecStart's program exists: a copy of the
# unit whose ExecStart is the extracted binary, under its own name. It exits 0
# on unknown keys and unparsable values (only warning, "ignoring"): any line
# about the unit fails too.
mkdir -p "$tmp/units"
sed "s|^ExecStart=/usr/bin/daisy |ExecStart=$tmp/root/usr/bin/daisy |" "$unit" >"$tmp/units/daisy.service"
verify_status=0
verify=$(systemd-analyze verify --man=no "$tmp/units/daisy.service" 2>&1) || verify_status=$?
if [ "$verify_status" -ne 0 ] || grep -q 'daisy\.service' <<<"$verify"; then
  fail "systemd-analyze verify (exit $verify_status): $verify"
else
  ok "systemd-analyze verify${verify:+ (about other units: $verify)}"
fi

# lintian: no errors; warnings are printed.
lint_status=0
lint=$(lintian --fail-on error --display-info --tag-display-limit 0 "$package" 2>&1) || lint_status=$?
if [ -n "$lint" ]; then
  echo "deb_test: lintian says:"
  while IFS= read -r line; do echo "  $line"; done <<<"$lint"
fi
if [ "$lint_status" -ne 0 ] || grep -q '^E:' <<<"$lint"; then
  fail "lintian reports errors (exit $lint_status)"
else
  ok "lintian: no errors"
fi
# The binary is built with Debian's hardening (CMakeLists.txt): lintian
# finds the fortified libc calls and the full RELRO.
if grep -qE 'hardening-no-(fortify-functions|relro|bindnow)' <<<"$lint"; then
  fail "lintian finds the binary built without hardening: $(grep -E 'hardening-no-' <<<"$lint" | tr '\n' ' ')"
else
  ok "lintian: built with hardening (fortify, relro, bindnow)"
fi

if [ "$failures" -ne 0 ]; then
  echo "deb_test: $failures check(s) failed" >&2
  exit 1
fi
echo "deb_test: all checks passed"
