#!/bin/bash
# bench/run-auth.sh: roost-auth and Dovecot's auth server side by side under
# the same load (bench/auth-load), measuring each server's own CPU time.
#
# Cases: PLAIN cache off, PLAIN cache on, SSHA256, SHA512-CRYPT, BLF-CRYPT
# (all AUTH PLAIN), CRAM-MD5 against {PLAIN} and {CRAM-MD5} stored users,
# SCRAM-SHA-256 against {SCRAM-SHA-256} stored users; each a passwd-file
# passdb of K users. sql-nocache / sql-cache: the same K {PLAIN} users in an
# SQLite passdb (driver = sql), without and with auth_cache_size = 10M:
# the auth cache's case (passwd-file is never cached, by either server).
# pgsql / ldap (cache off): the same K users in a PostgreSQL 15 table
# (driver = sql, pgsql over TCP loopback) and in an OpenLDAP slapd (mdb;
# driver = ldap, password lookup with pass_attrs/pass_filter); each service
# is started once per bench run in the temp dir on a free loopback port,
# seeded, shared by both servers, and stopped by PID at exit.
# For every case and server:
#   start the server, warm up, read the server processes' user+sys ticks
#   (/proc/PID/stat), run auth-load for the duration, read them again, stop.
# Prints auths/s and server CPU-seconds per 1,000 auths, the ratio
# roost/dovecot, and for the slow schemes the fraction of the machine's
# hash limit (cores x single-core crypt rate from bench/hash-rate).
#
# Client traffic goes only to unix sockets in a private temp dir (the
# servers' own database/LDAP traffic to 127.0.0.1). Everything started is
# stopped by PID. See bench/README.md for how to read the output.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run-auth.sh [options]
  --only dovecot|roost   run one server only (default: both; roost is skipped
                         with "roost: not built" when its binary is missing)
  --duration SECONDS     measured load per run (default 10)
  --warmup SECONDS       unmeasured load before each run (default 1)
  --users K              passwd-file users per case (default 1000)
  --distinct-hashes M    distinct hashes generated per scheme; users share
                         them round-robin (default 100; doveadm pw ~20 ms each)
  --conns N              auth-load connections (default 8)
  --pipeline P           requests in flight per connection (default 16)
  --load-threads T       auth-load threads (default 1)
  --rounds R             measure every case R times (servers alternating) and
                         report the medians (default 1; 3 on a noisy machine)
  --cases "LIST"         subset of: plain-nocache plain-cache ssha256
                         sha512-crypt blf-crypt cram-md5 cram-md5-stored
                         scram-sha-256 sql-nocache sql-cache pgsql ldap
                         (default: all; the sql cases need sqlite3 and
                         dovecot-sqlite, pgsql needs postgresql-15 and
                         dovecot-pgsql, ldap needs slapd, ldap-utils and
                         dovecot-ldap)
  --final-resp-ok        SCRAM: the client sends final-resp-ok (server
                         signature inside OK, one round trip less; default:
                         the extra CONT round, as Postfix does)
  --keep                 keep the temp dir (configs, logs, raw results)
Environment: ROOST_BUILD_DIR = directory holding roost-auth and bench/auth-load,
bench/hash-rate (default: the repository root). Missing bench tools are compiled
into the temp dir with cc. PGBIN = PostgreSQL's initdb/postgres/psql directory
(default /usr/lib/postgresql/15/bin).
EOF
}

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD=${ROOST_BUILD_DIR:-$REPO}
ONLY=""
DURATION=10
WARMUP=1
USERS=1000
DISTINCT=100
CONNS=8
PIPELINE=16
LOAD_THREADS=1
ROUNDS=1
CASES="plain-nocache plain-cache ssha256 sha512-crypt blf-crypt cram-md5 cram-md5-stored scram-sha-256 sql-nocache sql-cache pgsql ldap"
KEEP=""
FINAL_RESP_OK=""
PASSWORD="bench-pass"

while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--users) USERS=$2; shift 2 ;;
	--distinct-hashes) DISTINCT=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--pipeline) PIPELINE=$2; shift 2 ;;
	--load-threads) LOAD_THREADS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--cases) CASES=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--final-resp-ok) FINAL_RESP_OK=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run-auth: unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
done
case $ONLY in ""|dovecot|roost) ;; *) echo "run-auth: --only takes dovecot or roost" >&2; exit 2 ;; esac
for n in "$DURATION" "$WARMUP" "$USERS" "$DISTINCT" "$CONNS" "$PIPELINE" "$LOAD_THREADS" "$ROUNDS"; do
	[[ $n =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "run-auth: not a number: $n" >&2; exit 2; }
done
for c in $CASES; do
	case $c in plain-nocache|plain-cache|ssha256|sha512-crypt|blf-crypt|cram-md5|cram-md5-stored|scram-sha-256|sql-nocache|sql-cache|pgsql|ldap) ;;
	*) echo "run-auth: unknown case: $c" >&2; exit 2 ;; esac
done

# ---- prerequisites -----------------------------------------------------------
if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null; then
	echo "run-auth: Dovecot is not installed: apt-get install dovecot-core" >&2
	exit 1
fi
for t in ps awk getconf nproc; do
	command -v $t >/dev/null || { echo "run-auth: $t is missing (apt-get install procps gawk coreutils)" >&2; exit 1; }
done
if [[ " $CASES " == *" sql-"* ]]; then
	command -v sqlite3 >/dev/null || { echo "run-auth: the sql cases need sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
	ls /usr/lib/dovecot/modules/auth/libdriver_sqlite.so /usr/lib/dovecot/modules/libdriver_sqlite.so >/dev/null 2>&1 ||
		{ echo "run-auth: the sql cases need Dovecot's SQLite driver (apt-get install dovecot-sqlite)" >&2; exit 1; }
fi
dovecot_module() {   # FILE: in one of Dovecot's module dirs?
	[ -e "/usr/lib/dovecot/modules/auth/$1" ] || [ -e "/usr/lib/dovecot/modules/$1" ]
}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [[ " $CASES " == *" pgsql "* ]]; then
	for t in initdb postgres psql; do
		[ -x "$PGBIN/$t" ] || { echo "run-auth: the pgsql case needs PostgreSQL 15 ($PGBIN/$t is missing: apt-get install postgresql-15, or set PGBIN)" >&2; exit 1; }
	done
	dovecot_module libdriver_pgsql.so ||
		{ echo "run-auth: the pgsql case needs Dovecot's PostgreSQL driver (apt-get install dovecot-pgsql)" >&2; exit 1; }
	if [ "$(id -u)" = 0 ] && ! { id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null; }; then
		# PostgreSQL refuses to run as root
		echo "run-auth: as root, the pgsql case runs PostgreSQL as user postgres (created by postgresql-15) via setpriv (util-linux)" >&2
		exit 1
	fi
fi
if [[ " $CASES " == *" ldap "* ]]; then
	for t in slapd slappasswd; do
		command -v $t >/dev/null || [ -x "/usr/sbin/$t" ] ||
			{ echo "run-auth: the ldap case needs OpenLDAP's $t (apt-get install slapd)" >&2; exit 1; }
	done
	for t in ldapadd ldapsearch; do
		command -v $t >/dev/null || { echo "run-auth: the ldap case needs $t (apt-get install ldap-utils)" >&2; exit 1; }
	done
	[ -e /usr/lib/ldap/back_mdb.so ] ||
		{ echo "run-auth: the ldap case needs slapd's mdb backend (/usr/lib/ldap/back_mdb.so: apt-get install slapd)" >&2; exit 1; }
	dovecot_module libauthdb_ldap.so ||
		{ echo "run-auth: the ldap case needs Dovecot's LDAP passdb (apt-get install dovecot-ldap)" >&2; exit 1; }
fi
if [[ " $CASES " == *" pgsql "* || " $CASES " == *" ldap "* ]]; then
	for t in ss shuf; do
		command -v $t >/dev/null || { echo "run-auth: the pgsql/ldap cases need $t (apt-get install iproute2 coreutils)" >&2; exit 1; }
	done
fi

DIR=$(mktemp -d /tmp/rb.XXXXXX)      # short: unix socket paths stay < 108 bytes
chmod 755 "$DIR"                      # Dovecot's auth runs as user dovecot
STARTED=()                            # PIDs we started, stopped on exit
SERVICES=()                           # PostgreSQL/slapd PIDs, stopped after those

# stop_pid PID [SIGNAL]: SIGTERM (or SIGNAL), up to 10 s, then SIGKILL; a
# zombie counts as stopped.
stop_pid() {
	local p=$1 sig=${2:-TERM} i st
	kill -"$sig" "$p" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || break
		case $st in Z*) break ;; esac
		sleep 0.1
	done
	if ps -o stat= -p "$p" 2>/dev/null | grep -qv '^Z'; then kill -KILL "$p" 2>/dev/null || true; fi
	wait "$p" 2>/dev/null || true
}

# descendants PID: all live descendants, one per line
descendants() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END { for (p in parent) { q = p; n = 0
			while ((q in parent) && q != root && q > 1 && n++ < 64) q = parent[q]
			if (q == root && p != root) print p } }'
}

cleanup() {
	local p d
	for p in "${STARTED[@]+"${STARTED[@]}"}"; do
		d=$(descendants "$p")
		stop_pid "$p"
		for d in $d; do kill -KILL "$d" 2>/dev/null || true; done
	done
	STARTED=()
	# PostgreSQL and slapd, once the auth servers are gone: SIGINT is a
	# fast, clean stop for both (the postmaster takes its backends along)
	for p in "${SERVICES[@]+"${SERVICES[@]}"}"; do
		stop_pid "$p" INT
	done
	SERVICES=()
	if [ -n "$KEEP" ]; then echo "run-auth: kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools -------------------------------------------------------------------
find_or_build() {   # NAME EXTRA_LIBS -> path
	local name=$1 libs=$2
	if [ -x "$BUILD/bench/$name" ]; then echo "$BUILD/bench/$name"; return; fi
	local cc=${CC:-cc}
	command -v "$cc" >/dev/null || { echo "run-auth: $BUILD/bench/$name is not built and there is no C compiler (make bench/$name)" >&2; return 1; }
	# shellcheck disable=SC2086  # $libs: several words
	"$cc" -O2 -o "$DIR/$name" "$REPO/bench/$name.c" $libs || { echo "run-auth: cannot compile bench/$name.c" >&2; return 1; }
	echo "$DIR/$name"
}
AUTH_LOAD=$(find_or_build auth-load "-pthread -lcrypto")
HASH_RATE=$(find_or_build hash-rate -lcrypt)

ROOST_AUTH="$BUILD/roost-auth"
SERVERS=""
[ "$ONLY" = roost ] || SERVERS="dovecot"
if [ "$ONLY" != dovecot ]; then
	if [ -x "$ROOST_AUTH" ]; then
		SERVERS="$SERVERS roost"
	else
		echo "roost: not built ($ROOST_AUTH missing; set ROOST_BUILD_DIR or use --only dovecot)"
		[ "$ONLY" = roost ] && exit 1
	fi
fi

CORES=$(nproc)
TCK=$(getconf CLK_TCK)
DOVECOT_VERSION=$(dovecot --version | awk '{print $1}')
printf 'base_dir = %s/doveadm-run\n' "$DIR" >"$DIR/doveadm.conf"

# ---- users -------------------------------------------------------------------
scheme_of() {
	case $1 in
	plain-nocache|plain-cache|cram-md5|sql-nocache|sql-cache|pgsql|ldap) echo PLAIN ;;
	ssha256) echo SSHA256 ;;
	sha512-crypt) echo SHA512-CRYPT ;;
	blf-crypt) echo BLF-CRYPT ;;
	cram-md5-stored) echo CRAM-MD5 ;;
	scram-sha-256) echo SCRAM-SHA-256 ;;
	esac
}

mech_of() {   # CASE -> SASL mechanism auth-load uses
	case $1 in
	cram-md5|cram-md5-stored) echo CRAM-MD5 ;;
	scram-sha-256) echo SCRAM-SHA-256 ;;
	*) echo PLAIN ;;
	esac
}

# make_users SCHEME FILE: K users sharing DISTINCT hashes of one password
make_users() {
	local scheme=$1 file=$2 i n hashes=()
	if [ "$scheme" = PLAIN ]; then
		hashes=("{PLAIN}$PASSWORD")
	else
		n=$DISTINCT; [ "$n" -le "$USERS" ] || n=$USERS; [ "$n" -ge 1 ] || n=1
		for ((i = 0; i < n; i++)); do
			hashes+=("$(doveadm -c "$DIR/doveadm.conf" pw -s "$scheme" -p "$PASSWORD")")
		done
	fi
	for ((i = 0; i < USERS; i++)); do
		printf 'user%d:%s:1000:1000::/home/user%d::\n' "$i" "${hashes[i % ${#hashes[@]}]}" "$i"
	done >"$file"
	chmod 644 "$file"
}

# make_sqlite RUNDIR: the users file as an SQLite table, and the sql args
# file both servers read (Dovecot's dovecot-sql.conf.ext format)
make_sqlite() {
	local d=$1
	awk -F: '{ printf "INSERT INTO users VALUES (\x27%s\x27, \x27%s\x27);\n", $1, $2 }' "$d/users" |
		{ echo "CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT);"; echo "BEGIN;"; cat; echo "COMMIT;"; } |
		sqlite3 "$d/users.db"
	chmod 644 "$d/users.db"
	cat >"$d/sql.conf.ext" <<EOF
driver = sqlite
connect = $d/users.db
default_pass_scheme = PLAIN
password_query = SELECT username AS user, password FROM users WHERE username = '%u'
EOF
	chmod 644 "$d/sql.conf.ext"
}

# ---- PostgreSQL and slapd: once per bench run (shared/services.md 3 and 5) ---
free_port() {   # a TCP port on 127.0.0.1 with no listener
	local p
	for p in $(shuf -i 20000-60000 -n 50); do
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	echo "run-auth: no free port found" >&2
	return 1
}

# wait_up PID TRIES CMD...: until CMD succeeds (0.1 s apart) while PID lives
wait_up() {
	local pid=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Both services: the K users of users-PLAIN, read by the service account
# authd (password authdpw) that both auth servers use.
PG_PORT="" PG_PID=""
start_pgsql() {
	local pd="$DIR/pg" as=() n
	mkdir -p "$pd"
	if [ "$(id -u)" = 0 ]; then   # PostgreSQL refuses to run as root
		chown postgres:postgres "$pd"
		as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	fi
	PG_PORT=$(free_port)
	"${as[@]}" "$PGBIN/initdb" -D "$pd/data" -U postgres -A trust --auth-host=scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$pd/initdb.log" 2>&1 ||
		{ echo "run-auth: initdb failed:" >&2; tail -n 5 "$pd/initdb.log" | sed 's/^/    /' >&2; return 1; }
	# max_connections: far more than either auth server opens (Dovecot's
	# pgsql driver: maxconns = 5 per host by default; roost: the same
	# default, or one per worker thread, at most 4 per core, in builds that
	# ran pgsql queries on worker threads); one auth server runs at a time.
	cat >>"$pd/data/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pd'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOC
	# in the foreground as our child, so $! is the postmaster
	"${as[@]}" "$PGBIN/postgres" -D "$pd/data" >"$pd/postgres.log" 2>&1 &
	PG_PID=$!
	SERVICES+=("$PG_PID")
	local psql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$pd" -p "$PG_PORT" -U postgres)
	wait_up "$PG_PID" 300 "${psql[@]}" -d postgres -c "SELECT 1" ||
		{ echo "run-auth: PostgreSQL did not start:" >&2; tail -n 5 "$pd/postgres.log" | sed 's/^/    /' >&2; return 1; }
	if ! {
		echo "CREATE ROLE authd LOGIN PASSWORD 'authdpw';"
		echo "CREATE DATABASE authdb OWNER authd;"
	} | "${psql[@]}" -d postgres >"$pd/seed.log" 2>&1 || ! {
		echo "SET ROLE authd;"
		echo "CREATE TABLE users (username text PRIMARY KEY, password text NOT NULL);"
		echo "COPY users FROM STDIN;"
		awk -F: '{ printf "%s\t%s\n", $1, $2 }' "$DIR/users-PLAIN"
		printf '\\.\n'
	} | "${psql[@]}" -d authdb >>"$pd/seed.log" 2>&1; then
		echo "run-auth: seeding PostgreSQL failed:" >&2
		tail -n 5 "$pd/seed.log" | sed 's/^/    /' >&2
		return 1
	fi
	# the way the auth servers connect: TCP, password
	n=$(PGPASSWORD=authdpw "$PGBIN/psql" -X -tA -h 127.0.0.1 -p "$PG_PORT" -U authd -d authdb \
		-c "SELECT count(*) FROM users" 2>>"$pd/seed.log") || n=0
	[ "$n" = "$USERS" ] ||
		{ echo "run-auth: PostgreSQL has $n of $USERS users for authd over TCP" >&2; return 1; }
	echo "run-auth: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (PID $PG_PID), $n users"
}

LDAP_PORT="" LDAP_PID="" LDAP_SUFFIX="dc=bench,dc=test"
start_ldap() {
	local ld="$DIR/ldap" sp=slappasswd slapd=slapd uri n
	command -v slappasswd >/dev/null || sp=/usr/sbin/slappasswd
	command -v slapd >/dev/null || slapd=/usr/sbin/slapd
	mkdir -p "$ld/db"
	LDAP_PORT=$(free_port)
	uri="ldap://127.0.0.1:$LDAP_PORT/"
	cat >"$ld/slapd.conf" <<EOC
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile  $ld/slapd.pid
argsfile $ld/slapd.args
loglevel none
# userPassword: readable by the auth servers' service account only
access to attrs=userPassword by dn.exact="cn=authd,$LDAP_SUFFIX" read by anonymous auth by * none
access to * by * read
database mdb
maxsize  104857600
suffix   "$LDAP_SUFFIX"
rootdn   "cn=admin,$LDAP_SUFFIX"
rootpw   $("$sp" -h '{SSHA}' -s adminpw)
directory $ld/db
index objectClass,uid eq
# the seeding check below lists all K users as cn=authd
limits dn.exact="cn=authd,$LDAP_SUFFIX" size=unlimited
EOC
	# -d 0: in the foreground (no fork, $! is slapd), no debug output
	"$slapd" -d 0 -f "$ld/slapd.conf" -h "$uri" >"$ld/slapd.log" 2>&1 &
	LDAP_PID=$!
	SERVICES+=("$LDAP_PID")
	wait_up "$LDAP_PID" 200 ldapsearch -x -H "$uri" -s base -b "" namingContexts ||
		{ echo "run-auth: slapd did not start:" >&2; tail -n 5 "$ld/slapd.log" | sed 's/^/    /' >&2; return 1; }
	{
		printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: bench\no: Bench\n\n' "$LDAP_SUFFIX"
		printf 'dn: cn=authd,%s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: authd\nuserPassword: %s\n\n' \
			"$LDAP_SUFFIX" "$("$sp" -h '{SSHA}' -s authdpw)"
		printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$LDAP_SUFFIX"
		# userPassword: the password itself (default_pass_scheme = PLAIN)
		awk -F: -v sfx="$LDAP_SUFFIX" -v pw="$PASSWORD" '{
			n = $1; sub(/^user/, "", n)
			printf "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n", $1, sfx
			printf "uid: %s\ncn: %s\nsn: %s\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\nuserPassword: %s\n\n",
				$1, $1, $1, 10000 + n, 10000 + n, $1, pw }' "$DIR/users-PLAIN"
	} >"$ld/seed.ldif"
	ldapadd -x -H "$uri" -D "cn=admin,$LDAP_SUFFIX" -w adminpw -f "$ld/seed.ldif" >/dev/null 2>"$ld/seed.err" ||
		{ echo "run-auth: seeding slapd failed:" >&2; tail -n 5 "$ld/seed.err" | sed 's/^/    /' >&2; return 1; }
	# the way the auth servers search: as cn=authd, which may read userPassword
	n=$(ldapsearch -x -LLL -H "$uri" -D "cn=authd,$LDAP_SUFFIX" -w authdpw -b "ou=people,$LDAP_SUFFIX" \
		-z 0 '(&(objectClass=posixAccount)(userPassword=*))' dn 2>/dev/null | grep -c '^dn: ') || n=0
	[ "$n" = "$USERS" ] ||
		{ echo "run-auth: slapd has $n of $USERS users with a userPassword cn=authd can read" >&2; return 1; }
	echo "run-auth: slapd ($(dpkg-query -W -f '${Version}' slapd 2>/dev/null || echo '?')) on 127.0.0.1:$LDAP_PORT (PID $LDAP_PID), $n users"
}

# make_pgsql RUNDIR, make_ldap RUNDIR: the passdb args file both servers read
make_pgsql() {
	cat >"$1/sql.conf.ext" <<EOC
driver = pgsql
connect = host=127.0.0.1 port=$PG_PORT dbname=authdb user=authd password=authdpw
default_pass_scheme = PLAIN
password_query = SELECT username AS user, password FROM users WHERE username = '%u'
EOC
	chmod 644 "$1/sql.conf.ext"
}
make_ldap() {
	cat >"$1/ldap.conf.ext" <<EOC
uris = ldap://127.0.0.1:$LDAP_PORT/
dn = cn=authd,$LDAP_SUFFIX
dnpass = authdpw
base = ou=people,$LDAP_SUFFIX
scope = subtree
pass_filter = (&(objectClass=posixAccount)(uid=%u))
pass_attrs = uid=user,userPassword=password
default_pass_scheme = PLAIN
EOC
	chmod 644 "$1/ldap.conf.ext"
}

# ---- configs -----------------------------------------------------------------
common_config() {   # DIR CACHE_SIZE (0 = no cache: the default, not written) MECH PASSDB
	local mechs=plain driver=passwd-file args=$1/users
	[ "$3" = PLAIN ] || mechs="plain $(tr '[:upper:]' '[:lower:]' <<<"$3")"
	case $4 in
	sql) driver=sql; args=$1/sql.conf.ext ;;
	ldap) driver=ldap; args=$1/ldap.conf.ext ;;
	esac
	cat <<EOF
auth_mechanisms = $mechs
auth_failure_delay = 0
$([ "$2" = 0 ] || echo "auth_cache_size = $2")
disable_plaintext_auth = no
passdb {
  driver = $driver
  args = $args
}
userdb {
  driver = static
  args = uid=1000 gid=1000 home=/home/%u
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
}
EOF
}

write_config() {   # SERVER RUNDIR CACHE_SIZE MECH PASSDB
	local server=$1 d=$2 cache=$3 mech=$4 passdb=$5
	if [ "$server" = dovecot ]; then
		cat >"$d/dovecot.conf" <<EOF
# Dovecot with only its auth service (shared/services.md section 8)
instance_name = rb-$(basename "$d")-$$
base_dir = $d/run
state_dir = $d/state
log_path = $d/server.log
protocols = none
listen = 127.0.0.1
ssl = no
# no per-IP failure penalty (anvil), no failure delay
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
$(common_config "$d" "$cache" "$mech" "$passdb")
EOF
	else
		cat >"$d/roost.conf" <<EOF
base_dir = $d/run
log_path = $d/server.log
$(common_config "$d" "$cache" "$mech" "$passdb")
EOF
	fi
	chmod 644 "$d"/*.conf
}

# ---- server processes and their CPU ------------------------------------------
SERVER_PID=""
start_server() {   # SERVER RUNDIR -> SERVER_PID; returns 1 if it did not come up
	local server=$1 d=$2 i
	if [ "$server" = dovecot ]; then
		dovecot -F -c "$d/dovecot.conf" >"$d/stdout.log" 2>&1 &
	else
		"$ROOST_AUTH" -c "$d/roost.conf" >"$d/stdout.log" 2>&1 &
	fi
	SERVER_PID=$!
	STARTED+=("$SERVER_PID")
	for i in $(seq 1 200); do
		[ -S "$d/run/auth-client" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "$server: did not start (no $d/run/auth-client):" >&2
	tail -n 5 "$d/stdout.log" "$d/server.log" 2>/dev/null | sed 's/^/    /' >&2
	return 1
}

stop_server() {
	local p=$SERVER_PID d kids keep=()
	kids=$(descendants "$p")
	stop_pid "$p"
	# children that outlived their master: by PID
	for d in $kids; do kill -KILL "$d" 2>/dev/null || true; done
	for d in "${STARTED[@]}"; do [ "$d" = "$p" ] || keep+=("$d"); done
	STARTED=("${keep[@]+"${keep[@]}"}")
	SERVER_PID=""
}

# The processes doing auth work. Dovecot: its "auth" children (the auth
# process and the auth-worker processes: same executable), found by walking
# the master's process tree. roost: roost-auth itself (threads included in
# /proc/PID/stat) and any children.
server_work_pids() {   # SERVER
	local p
	if [ "$1" = dovecot ]; then
		for p in $(descendants "$SERVER_PID"); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = auth ] && echo "$p"
		done
	else
		echo "$SERVER_PID"
		descendants "$SERVER_PID"
	fi
}

# pids_snapshot PID...: "pid ticks" lines (utime+stime)
pids_snapshot() {
	local p
	for p in "$@"; do
		# fields after "pid (comm) ": state=1 ... utime=12 stime=13
		sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk -v p="$p" '{ print p, $12 + $13 }'
	done
}
# cpu_snapshot SERVER: the auth server's processes
cpu_snapshot() {
	# shellcheck disable=SC2046  # one PID a word
	pids_snapshot $(server_work_pids "$1")
}
# backend_snapshot CASE: PostgreSQL (postmaster and its backends) or slapd,
# not counted in the server's CPU; nothing for the other cases
backend_snapshot() {
	# shellcheck disable=SC2046  # one PID a word
	case $1 in
	pgsql) pids_snapshot "$PG_PID" $(descendants "$PG_PID") ;;
	ldap) pids_snapshot "$LDAP_PID" ;;
	esac
}

# cpu_delta BEFORE AFTER: ticks used in between (processes born in between
# count from 0)
cpu_delta() {
	awk 'NR == FNR { before[$1] = $2; next } { d += $2 - before[$1] } END { print d + 0 }' "$1" "$2"
}

# ---- one measurement ---------------------------------------------------------
# per case,server: space-separated values of all rounds; STATUS keeps the
# first problem seen
declare -A RATES=() CPUS=() BCPUS=() STATUS=() CACHE_STATS=()
note_status() {   # KEY STATUS
	[ -n "${STATUS[$1]:-}" ] && [ "${STATUS[$1]}" != ok ] && return
	STATUS[$1]=$2
}
run_case() {   # CASE SERVER ROUND
	local c=$1 server=$2 d="$DIR/$1-$2-r$3" cache=0 ticks out
	mkdir -p "$d"
	chmod 755 "$d"
	cp "$DIR/users-$(scheme_of "$c")" "$d/users"
	local mech passdb=passwd-file
	case $c in plain-cache|sql-cache) cache=10M ;; esac
	case $c in
	sql-*) passdb=sql; make_sqlite "$d" ;;
	pgsql) passdb=sql; make_pgsql "$d" ;;
	ldap) passdb=ldap; make_ldap "$d" ;;
	esac
	mech=$(mech_of "$c")
	write_config "$server" "$d" "$cache" "$mech" "$passdb"
	if ! start_server "$server" "$d"; then
		note_status "$c,$server" "did not start"
		stop_server
		return
	fi
	local load=("$AUTH_LOAD" -s "$d/run/auth-client" -c "$CONNS" -p "$PIPELINE"
		    -t "$LOAD_THREADS" -k "$USERS" -U user -P "$PASSWORD" -m "$mech" -q)
	[ -z "$FINAL_RESP_OK" ] || load+=(-F)
	if ! "${load[@]}" -d "$WARMUP" >"$d/warmup.out" 2>&1; then
		echo "$c/$server: warm-up failed:" >&2
		sed 's/^/    /' "$d/warmup.out" >&2
		note_status "$c,$server" "warm-up failed"
		stop_server
		return
	fi
	cpu_snapshot "$server" >"$d/cpu.before"
	backend_snapshot "$c" >"$d/backend-cpu.before"
	local rc=0
	"${load[@]}" -d "$DURATION" >"$d/load.out" 2>&1 || rc=$?
	cpu_snapshot "$server" >"$d/cpu.after"
	backend_snapshot "$c" >"$d/backend-cpu.after"
	if [ "$server" = roost ] && [ "$cache" != 0 ] && [ -x "$BUILD/roostadm" ]; then
		"$BUILD/roostadm" auth stats -a "$d/run/auth-master" >"$d/cache-stats.out" 2>&1 || true
		CACHE_STATS[$c]=$(awk -F': ' '$1 == "cache_hits" { h = $2 } $1 == "cache_misses" { m = $2 }
			$1 == "cache_entries" { e = $2 } END { if (h != "") printf "hits %s, misses %s, entries %s", h, m, e }' "$d/cache-stats.out")
	fi
	stop_server
	ticks=$(cpu_delta "$d/cpu.before" "$d/cpu.after")
	local bticks=- bcpu1k=-
	[ ! -s "$d/backend-cpu.after" ] || bticks=$(cpu_delta "$d/backend-cpu.before" "$d/backend-cpu.after")
	out=$(grep '^RESULT ' "$d/load.out" || true)
	if [ -z "$out" ]; then
		note_status "$c,$server" "auth-load failed"
		sed 's/^/    /' "$d/load.out" >&2
		return
	fi
	local auths rate
	auths=$(sed -n 's/.* auths=\([0-9]*\).*/\1/p' <<<"$out")
	rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$out")
	local cpu1k
	cpu1k=$(awk -v t="$ticks" -v hz="$TCK" -v n="$auths" \
		'BEGIN { if (n > 0) printf "%.4f", t / hz / n * 1000; else print "-" }')
	RATES[$c,$server]+=" $rate"
	[ "$cpu1k" = - ] || CPUS[$c,$server]+=" $cpu1k"
	if [ "$bticks" != - ]; then
		bcpu1k=$(awk -v t="$bticks" -v hz="$TCK" -v n="$auths" \
			'BEGIN { if (n > 0) printf "%.4f", t / hz / n * 1000; else print "-" }')
		[ "$bcpu1k" = - ] || BCPUS[$c,$server]+=" $bcpu1k"
	fi
	if [ $rc -eq 0 ]; then
		note_status "$c,$server" ok
	else
		note_status "$c,$server" errors
		echo "$c/$server: auth-load reported errors:" >&2
		sed 's/^/    /' "$d/load.out" >&2
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\tbackend_ticks=%s backend_cpu1k=%s\n' "$c" "$server" "$3" \
		"$auths" "$rate" "$ticks" "$cpu1k" "$out" "$bticks" "$bcpu1k" >>"$DIR/results.tsv"
}

# ---- main --------------------------------------------------------------------
echo "run-auth: roost-auth vs Dovecot $DOVECOT_VERSION auth; $CORES cores; $USERS users;" \
     "auth-load $CONNS conns x $PIPELINE in flight, $LOAD_THREADS thread(s);" \
     "${DURATION}s per run (+${WARMUP}s warm-up); servers: ${SERVERS# }"
declare -A HASHRATE=()
for c in $CASES; do
	s=$(scheme_of "$c")
	if [ ! -e "$DIR/users-$s" ]; then
		echo "run-auth: generating $USERS $s users ..."
		make_users "$s" "$DIR/users-$s"
	fi
	case $s in
	SHA512-CRYPT|BLF-CRYPT)
		if [ -z "${HASHRATE[$s]:-}" ]; then
			h=$(head -n 1 "$DIR/users-$s" | cut -d: -f2)
			HASHRATE[$s]=$("$HASH_RATE" -n 200 -d 5 "$PASSWORD" "$h" | sed -n 's/.* rate=\([0-9.]*\).*/\1/p')
		fi ;;
	esac
done

# the services: once for all rounds and both servers
if [[ " $CASES " == *" pgsql "* ]]; then start_pgsql || exit 1; fi
if [[ " $CASES " == *" ldap "* ]]; then start_ldap || exit 1; fi

for ((round = 1; round <= ROUNDS; round++)); do
	for c in $CASES; do
		for server in $SERVERS; do
			echo "run-auth: round $round/$ROUNDS: $c on $server ..."
			run_case "$c" "$server" "$round"
		done
	done
done

median() {   # VALUES... -> median, or nothing
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A RATE=() CPU1K=() BCPU1K=()
for key in "${!RATES[@]}"; do
	# shellcheck disable=SC2086  # word splitting wanted
	RATE[$key]=$(median ${RATES[$key]})
done
for key in "${!CPUS[@]}"; do
	# shellcheck disable=SC2086
	CPU1K[$key]=$(median ${CPUS[$key]})
done
for key in "${!BCPUS[@]}"; do
	# shellcheck disable=SC2086
	BCPU1K[$key]=$(median ${BCPUS[$key]})
done

case_label() {
	case $1 in
	plain-nocache) echo "PLAIN cache off" ;;
	plain-cache) echo "PLAIN cache on" ;;
	ssha256) echo "SSHA256" ;;
	sha512-crypt) echo "SHA512-CRYPT" ;;
	blf-crypt) echo "BLF-CRYPT" ;;
	cram-md5) echo "CRAM-MD5 {PLAIN}" ;;
	cram-md5-stored) echo "CRAM-MD5 stored" ;;
	scram-sha-256) echo "SCRAM-SHA-256" ;;
	sql-nocache) echo "SQL cache off" ;;
	sql-cache) echo "SQL cache on" ;;
	pgsql) echo "PostgreSQL" ;;
	ldap) echo "LDAP" ;;
	esac
}

cell() {   # CASE SERVER -> "auths/s cpu/1k" columns
	local c=$1 s=$2
	if [[ " $SERVERS " != *" $s "* ]]; then
		printf '%11s %10s' "not run" ""
	elif [ -z "${RATE[$c,$s]:-}" ]; then
		printf '%22s' "${STATUS[$c,$s]:-failed}"
	else
		local mark=""
		[ "${STATUS[$c,$s]}" = ok ] || mark="!"
		printf '%10.1f%1s %10s' "${RATE[$c,$s]}" "$mark" "${CPU1K[$c,$s]:--}"
	fi
}

ratio() {   # A B -> A/B or -
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a != "" && b != "" && a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'
}

echo
[ "$ROUNDS" -le 1 ] || echo "medians of $ROUNDS rounds"
printf '%-16s | %-22s | %-22s | %s\n' "" "dovecot" "roost" "roost/dovecot"
printf '%-16s | %11s %10s | %11s %10s | %8s %9s\n' "case" "auths/s" "CPU-s/1k" "auths/s" "CPU-s/1k" "auths/s" "CPU/auth"
for c in $CASES; do
	printf '%-16s | %s | %s | %8s %9s\n' "$(case_label "$c")" "$(cell "$c" dovecot)" "$(cell "$c" roost)" \
		"$(ratio "${RATE[$c,roost]:-}" "${RATE[$c,dovecot]:-}")" \
		"$(ratio "${CPU1K[$c,roost]:-}" "${CPU1K[$c,dovecot]:-}")"
done

for c in $CASES; do
	case $c in pgsql) what="PostgreSQL (postmaster + backends)" ;; ldap) what=slapd ;; *) continue ;; esac
	line=""
	for server in dovecot roost; do
		[ -n "${BCPU1K[$c,$server]:-}" ] || continue
		line+=$(awk -v s="$server" -v b="${BCPU1K[$c,$server]}" -v a="${CPU1K[$c,$server]:-}" \
			'BEGIN { printf "  %s %.4f", s, b; if (a != "") printf " (with the auth server: %.4f)", a + b }')
	done
	[ -z "$line" ] || echo "$what CPU-s/1k, not in the table:$line"
done
for c in "${!CACHE_STATS[@]}"; do
	[ -z "${CACHE_STATS[$c]}" ] || echo "roost auth cache, $(case_label "$c") (roostadm auth stats, last round): ${CACHE_STATS[$c]}"
done

if [ ${#HASHRATE[@]} -gt 0 ]; then
	echo
	echo "hash limit = $CORES cores x single-core crypt_r rate (bench/hash-rate); fraction reached:"
	for c in $CASES; do
		s=$(scheme_of "$c")
		[ -n "${HASHRATE[$s]:-}" ] || continue
		line=$(awk -v r="${HASHRATE[$s]}" -v n="$CORES" \
			'BEGIN { printf "%-13s single core %.0f/s (%.2f CPU-s/1k), limit %.0f/s:", "'"$s"'", r, 1000 / r, r * n }')
		for server in dovecot roost; do
			if [ -n "${RATE[$c,$server]:-}" ]; then
				line+=$(awk -v a="${RATE[$c,$server]}" -v r="${HASHRATE[$s]}" -v n="$CORES" \
					'BEGIN { printf "  %s %.2f", "'"$server"'", a / (r * n) }')
			fi
		done
		echo "$line"
	done
fi
echo
echo "CPU-s/1k = server CPU seconds (user+sys of the auth processes) per 1,000 auths; lower is better."
echo "'!' = auth-load saw errors or unexpected results in that run (details above). Machines are noisy:"
echo "compare ratios from the same run, not absolute numbers across runs."
[ -z "$KEEP" ] || echo "raw results: $DIR/results.tsv"
