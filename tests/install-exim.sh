#!/bin/bash
# Put Exim 4.96 (exim4-daemon-heavy: the only Debian flavour with the
# `dovecot` authenticator) under /opt/exim4-heavy for tests/test_exim.py.
# exim4 and postfix conflict in Debian, so the binary is unpacked from its
# .deb instead of installed; only its runtime libraries are installed.
# Idempotent; run as root. EXIM_ROOT overrides the target directory.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
EXIM_ROOT=${EXIM_ROOT:-/opt/exim4-heavy}
RUNTIME_LIBS=(libspf2-2 libidn12 libgnutls-dane0 libmariadb3 libpq5 libldap-2.5-0
              libperl5.36 libsasl2-2 libsqlite3-0 libdb5.3)

if [ "$(id -u)" != 0 ]; then
  echo "install-exim: run as root" >&2
  exit 1
fi

missing=()
for p in "${RUNTIME_LIBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get -q update >/dev/null
  apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$EXIM_ROOT/usr/sbin/exim4" ]; then
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download exim4-daemon-heavy)
  mkdir -p "$EXIM_ROOT"
  dpkg-deb -x "$tmp"/exim4-daemon-heavy_*.deb "$EXIM_ROOT"
fi

# the binary has this user name compiled in and refuses to start without it
getent passwd Debian-exim >/dev/null || useradd --system --user-group --no-create-home \
  --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim

if ldd "$EXIM_ROOT/usr/sbin/exim4" | grep -q 'not found'; then
  echo "install-exim: libraries still missing:" >&2
  ldd "$EXIM_ROOT/usr/sbin/exim4" | grep 'not found' >&2
  exit 1
fi
"$EXIM_ROOT/usr/sbin/exim4" -C /dev/null -bV 2>/dev/null | grep -m1 "^Exim version" || true
