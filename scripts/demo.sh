#!/bin/bash
# Install what is missing, build roost, and start it in the foreground on an
# embedded default configuration: passwd-file users, everything under ./var,
# one demo user whose password is printed below. Ctrl-C stops it.
# Run as root on Debian 12 (as another user it skips the package step and
# everything runs as that user). ROOST_DEMO_VAR=DIR puts ./var elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "$(id -u)" = 0 ]; then
	scripts/install-deps.sh
fi
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi
fi
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc)" >/dev/null)

VAR=${ROOST_DEMO_VAR:-$ROOT/var}
mkdir -p "$VAR/run"
if [ ! -f "$VAR/users" ]; then
	pass=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12)
	hash=$(build/roostadm pw -s SHA512-CRYPT -p "$pass")
	printf 'demo:%s:%s:%s::%s::\n' "$hash" "$(id -u)" "$(id -g)" "$VAR/home/demo" >"$VAR/users"
	chmod 600 "$VAR/users"
	printf '%s\n' "$pass" >"$VAR/demo-password"
	chmod 600 "$VAR/demo-password"
fi
if [ ! -f "$VAR/roost.conf" ]; then
	cat >"$VAR/roost.conf" <<CONF
# roost demo configuration (Dovecot 2.3 syntax). Edit freely.
base_dir = $VAR/run
auth_mechanisms = plain login
# the demo listens on loopback only; plaintext is fine there
disable_plaintext_auth = no
auth_verbose = yes

passdb {
  driver = passwd-file
  args = $VAR/users
}
userdb {
  driver = passwd-file
  args = $VAR/users
}

service auth {
  # for an MTA: Postfix smtpd_sasl_path / Exim server_socket
  unix_listener auth-client {
    mode = 0666
  }
}
CONF
fi

cat <<MSG
roost demo
  config:        $VAR/roost.conf
  auth socket:   $VAR/run/auth-client   (client protocol, for Postfix/Exim)
  userdb socket: $VAR/run/auth-userdb
  demo user:     demo
  password:      $(cat "$VAR/demo-password")
  try:           build/roostadm auth test -a $VAR/run/auth-client demo '$(cat "$VAR/demo-password")'
                 build/roostadm user -a $VAR/run/auth-userdb demo
Starting roostd in the foreground (Ctrl-C stops it)...
MSG
exec build/roostd -F -c "$VAR/roost.conf"
