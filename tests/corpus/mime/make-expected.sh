#!/bin/sh
# Regenerate the *.expected files of this corpus with Debian's Dovecot 2.3:
# each .eml is saved into a throw-away Maildir with `doveadm save` and read
# back with `doveadm fetch 'imap.envelope imap.bodystructure'`.
#   make-expected.sh [OUTDIR]   (default: this directory)
# Output per message: "ENVELOPE <x>\nBODYSTRUCTURE <y>\n", like mime-dump.
# No auth service is needed: without -u, doveadm takes the user from $USER
# and the uid/gid from mail_uid/mail_gid. Dovecot refuses mail access as
# root, so under root the temp Maildir belongs to nobody (65534).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
command -v doveadm >/dev/null || { echo "doveadm not installed" >&2; exit 77; }
tmp=$(mktemp -d /tmp/mime-expected.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
uid=$(id -u); gid=$(id -g)
if [ "$uid" = 0 ]; then uid=65534; gid=65534; chown "$uid:$gid" "$tmp"; fi
cat > "$tmp/dovecot.conf" <<CONF
base_dir = $tmp/run
state_dir = $tmp/state
log_path = /dev/stderr
mail_location = maildir:$tmp/Maildir
mail_uid = $uid
mail_gid = $gid
first_valid_uid = 0
first_valid_gid = 0
CONF
export USER=mimetest HOME="$tmp"
for eml in "$here"/*.eml; do
	base=$(basename "$eml" .eml)
	doveadm -c "$tmp/dovecot.conf" save < "$eml"
	# JSON output keeps IMAP literals ({n} CRLF data) intact.
	doveadm -c "$tmp/dovecot.conf" -f json fetch \
		'imap.envelope imap.bodystructure' mailbox INBOX all |
	python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
out = "ENVELOPE %s\nBODYSTRUCTURE %s\n" % (r["imap.envelope"], r["imap.bodystructure"])
sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))' > "$out/$base.expected"
	doveadm -c "$tmp/dovecot.conf" expunge mailbox INBOX all
done
