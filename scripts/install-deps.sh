#!/bin/bash
# Install what roost needs to build (and, with --test, to run its tests) from
# Debian 12 packages. Idempotent; run as root. Installs nothing already present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(gcc make autoconf automake pkg-config
            libevent-dev libssl-dev libcrypt-dev libargon2-dev libcmocka-dev
            libsqlite3-dev libpq-dev libmariadb-dev
            libpam0g-dev
            libldap-dev
            libkrb5-dev)
TEST_PKGS=(python3 python3-pytest postfix swaks dovecot-core socat procps iproute2 bc libauthen-sasl-perl libdigest-hmac-perl libsasl2-dev libsasl2-modules libsasl2-modules-otp dovecot-sqlite
           sqlite3 postgresql-15 postgresql-client-15 mariadb-server mariadb-client dovecot-pgsql dovecot-mysql
           libpam-wrapper pamtester libnss-wrapper
           slapd ldap-utils openssl dovecot-ldap
           krb5-kdc krb5-admin-server krb5-user python3-gssapi dovecot-gssapi)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: apt-get install ${missing[*]})" >&2
  exit 1
fi

# Keep postinst scripts from starting the distribution's own daemons
# (postfix on :25, dovecot on :143 ...): invoke-rc.d obeys policy-rc.d.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
trap '[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT

APT="apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
echo "install-deps: installing ${missing[*]}"
# postfix asks debconf questions; answer them up front.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get -q update >/dev/null
$APT install --no-install-recommends "${missing[@]}"
