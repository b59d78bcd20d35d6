#!/bin/bash
# A checkpassword program for tests/test_checkpassword.py (the DJB
# interface with Dovecot's extensions): user, password and timestamp
# come NUL-terminated on fd 3; on success it runs its arguments (the
# checkpassword-reply helper), which writes the fields to fd 4.
# Behaviour by user name:
#   alice/alicepw, bob/bobpw  ok, with extra fields through EXTRA
#   tempfail                  exit 111 (temporary problem)
#   hang                      sleeps (a hanging program)
#   crash                     dies by SIGSEGV
#   direct                    writes its fields to fd 4 itself
#   nofields                  exit 0 without any reply
#   envcheck                  returns some of its environment as fields
#   anyone else               unknown: exit 1 (verify) / 3 (lookup)
IFS= read -r -d '' user <&3
IFS= read -r -d '' pass <&3
IFS= read -r -d '' stamp <&3

lookup=
[ "${AUTHORIZED:-}" = 1 ] && lookup=1

ok() {
  if [ -n "$lookup" ]; then export AUTHORIZED=2; fi
  exec "$@"
}

case "$user" in
  alice|bob)
    if [ -z "$lookup" ] && [ "$pass" != "${user}pw" ]; then exit 1; fi
    export HOME=/home/$user userdb_quota_rule='*:storage=1G' mailgroup=staff
    export EXTRA="userdb_quota_rule mailgroup"
    ok "$@" ;;
  tempfail) exit 111 ;;
  hang) sleep 48.75; exit 0 ;;
  crash) kill -SEGV $$ ;;
  direct)
    printf 'userdb_home=/srv/direct\tfrom=script' >&4
    if [ -n "$lookup" ]; then exit 2; fi
    exit 0 ;;
  nofields) exit 0 ;;
  envcheck)
    export userdb_svc="$SERVICE" userdb_rip="${TCPREMOTEIP:-none}" \
      userdb_authuser="$AUTH_USER" userdb_authorized="${AUTHORIZED:-none}" \
      userdb_proto="$PROTO"
    export EXTRA="userdb_svc userdb_rip userdb_authuser userdb_authorized userdb_proto"
    ok "$@" ;;
  *)
    if [ -n "$lookup" ]; then exit 3; fi
    exit 1 ;;
esac
