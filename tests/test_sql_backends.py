"""passdb/userdb sql against real PostgreSQL 15 and MariaDB 10.11.

Each database is a throwaway instance started as in services.md (sections 3
and 4): its own temp dir, a free loopback port and a unix socket, seeded with
the normal client tool, stopped by PID. The auth server under test (roost by
default, ROOST_TEST_TARGET=dovecot for the reference, if Dovecot's SQL
drivers are installed) uses

    passdb { driver = sql  args = dovecot-sql.conf.ext }
    userdb { driver = sql  args = dovecot-sql.conf.ext }

Covered per database: PLAIN success / wrong password / unknown user, CRAM-MD5
(credentials lookup), userdb lookups on the master socket, user iteration
(LIST, and roostadm user '*'), a user name with a single quote, the database
going down (internal failure, logged, no hang) and coming back (reconnect).
Run as root (PostgreSQL runs as the postgres user via runuser).
"""
import hashlib
import hmac
import base64
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (AuthServer, TARGET, free_port, make_tmpdir, roost_binary_or_none,
                      stop_pid, wait_for)
import authproto

PGBIN = "/usr/lib/postgresql/15/bin"

# user -> (stored password, uid, home)
SQL_USERS = {
    "alice": ("{PLAIN}alicepw", 1001, "/home/alice"),
    "bob": ("bobpw", 1002, "/home/bob"),            # default_pass_scheme = PLAIN
    "o'brien": ("{PLAIN}obpw", 1003, "/home/obrien"),
}


def sql_quote(s):
    return "'" + s.replace("'", "''") + "'"


def seed_sql():
    rows = ",\n".join(
        f"  ({sql_quote(u)}, {sql_quote(p)}, {sql_quote(h)}, {uid}, {uid}, "
        + ("'1G'" if u == "alice" else "NULL") + ")"
        for u, (p, uid, h) in SQL_USERS.items())
    return ("CREATE TABLE users (username VARCHAR(64) PRIMARY KEY, "
            "password VARCHAR(255) NOT NULL, home VARCHAR(255), uid INT, gid INT, "
            "quota VARCHAR(32));\n"
            f"INSERT INTO users VALUES\n{rows};\n")


def skip_unless(cond, why):
    if not cond:
        pytest.skip(why)


class Postgres:
    """PostgreSQL 15 in a temp dir (services.md section 3)."""

    name = "pgsql"

    def __init__(self):
        skip_unless(os.geteuid() == 0, "PostgreSQL tests need root (runuser -u postgres)")
        skip_unless(os.path.exists(f"{PGBIN}/initdb"), "postgresql-15 is not installed")
        self.dir = make_tmpdir("pg.")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        self.as_pg(f"{PGBIN}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                   "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                    "synchronous_commit = off\nfull_page_writes = off\n"
                    "logging_collector = off\n")
        self.start()
        self.psql("postgres", "CREATE ROLE authd LOGIN PASSWORD 'authdpw';\n"
                  "CREATE DATABASE authdb OWNER authd;\n")
        self.psql("authdb", "SET ROLE authd;\n" + seed_sql())

    def as_pg(self, *cmd):
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def psql(self, db, sql):
        subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                        "-p", str(self.port), "-U", "postgres", "-d", db],
                       input=sql, text=True, check=True, timeout=30)

    def start(self):
        self.as_pg(f"{PGBIN}/pg_ctl", "-D", self.data, "-l",
                   os.path.join(self.dir, "postgres.log"), "-w", "-t", "30", "start")
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def stop(self):
        # SIGINT = fast shutdown; postmaster.pid goes away as the last step
        pidfile = os.path.join(self.data, "postmaster.pid")
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        wait_for(lambda: not os.path.exists(pidfile), 30, what="postgres to stop")

    def connect_string(self, password="authdpw"):
        return (f"host=127.0.0.1 port={self.port} dbname=authdb user=authd "
                f"password={password}")

    def cleanup(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Maria:
    """MariaDB 10.11 in a temp dir (services.md section 4)."""

    name = "mysql"

    def __init__(self):
        skip_unless(os.geteuid() == 0, "MariaDB tests run mariadbd --user=root")
        skip_unless(shutil.which("mariadbd") or os.path.exists("/usr/sbin/mariadbd"),
                    "mariadb-server is not installed")
        self.dir = make_tmpdir("my.")
        self.port = free_port()
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        subprocess.run(["mariadb-install-db", "--no-defaults", "--user=root",
                        f"--datadir={self.data}", "--auth-root-authentication-method=socket",
                        "--skip-test-db", "--skip-name-resolve"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
        self.start()
        self.client("CREATE DATABASE authdb;\n"
                    "CREATE USER 'authd'@'localhost' IDENTIFIED BY 'authdpw';\n"
                    "CREATE USER 'authd'@'127.0.0.1' IDENTIFIED BY 'authdpw';\n"
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON authdb.* TO "
                    "'authd'@'localhost', 'authd'@'127.0.0.1';\n"
                    "USE authdb;\n" + seed_sql())

    def client(self, sql):
        subprocess.run(["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot"],
                       input=sql, text=True, check=True, timeout=30)

    def start(self):
        log = open(os.path.join(self.dir, "mariadbd.out"), "ab")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=root", f"--datadir={self.data}",
             f"--socket={self.sock}", f"--pid-file={self.dir}/mysqld.pid",
             "--bind-address=127.0.0.1", f"--port={self.port}", "--skip-name-resolve",
             "--skip-log-bin", f"--log-error={self.dir}/error.log",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
             "--innodb-flush-log-at-trx-commit=0"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def ping():
            if self.proc.poll() is not None:
                raise AssertionError(f"mariadbd exited with {self.proc.returncode}")
            return subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.sock}",
                                   "-uroot", "ping"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
        wait_for(ping, 30, interval=0.2, what="mariadbd ping")

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc)
            self.proc = None

    def connect_string(self, password="authdpw"):
        return (f"host=127.0.0.1 port={self.port} dbname=authdb user=authd "
                f"password={password}")

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


SQL_CONF = """\
# written by test_sql_backends.py
driver = {driver}
connect = {connect}
default_pass_scheme = PLAIN
password_query = SELECT username AS user, password, quota, \\
  home AS userdb_home, uid AS userdb_uid \\
  FROM users WHERE username = '%u'
user_query = SELECT home, uid, gid, quota AS quota_rule FROM users WHERE username = '%u'
iterate_query = SELECT username AS user FROM users
"""


def sql_auth_server(db, connect=None):
    """An auth server whose passdb and userdb are sql on db."""
    # a single quote in user names is refused by Dovecot's default
    # auth_username_chars: this config allows every character
    s = AuthServer(mechanisms="plain login cram-md5",
                   extra_global="auth_username_chars =\n")
    conf = os.path.join(s.dir, "dovecot-sql.conf.ext")
    with open(conf, "w") as f:
        f.write(SQL_CONF.format(driver=db.name, connect=connect or db.connect_string()))
    os.chmod(conf, 0o644)
    text = s.config_text()
    start = text.index("passdb {")
    end = text.index("service auth {")
    text = (text[:start] + f"passdb {{\n  driver = sql\n  args = {conf}\n}}\n"
            f"userdb {{\n  driver = sql\n  args = {conf}\n}}\n" + text[end:])
    s.write_config(text)
    try:
        s.start()
    except BaseException:
        s.cleanup()
        raise
    return s


@pytest.fixture(scope="module", params=["pgsql", "mysql"])
def backend(request):
    """(database, auth server) for each database kind."""
    if TARGET == "dovecot":
        lib = {"pgsql": "libdriver_pgsql.so", "mysql": "libdriver_mysql.so"}[request.param]
        if not any(os.path.exists(os.path.join(d, lib)) for d in
                   ("/usr/lib/dovecot/modules", "/usr/lib/dovecot/modules/auth")):
            pytest.skip(f"Dovecot's {lib} is not installed")
    db = Postgres() if request.param == "pgsql" else Maria()
    try:
        server = sql_auth_server(db)
    except BaseException:
        db.cleanup()
        raise
    try:
        yield db, server
    finally:
        server.cleanup()
        db.cleanup()


def plain(server, user, password, timeout=10.0):
    with authproto.ClientConn(server.client_socket, timeout) as c:
        c.handshake()
        return c.plain(user, password, timeout=timeout)


def test_plain(backend):
    db, server = backend
    f = plain(server, "alice", "alicepw")
    assert f[0] == "OK" and f[2] == "user=alice", f
    assert "quota=1G" in f, f
    f = plain(server, "bob", "bobpw")
    assert f[0] == "OK" and f[2] == "user=bob", f
    f = plain(server, "alice", "wrong")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    f = plain(server, "nosuch", "x")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f


def cram_md5(server, user, secret):
    with authproto.ClientConn(server.client_socket, 10) as c:
        c.handshake()
        rid = c.auth("CRAM-MD5")
        f = c.reply()
        assert f[0] == "CONT", f
        challenge = base64.b64decode(f[2])
        digest = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest()
        c.cont(rid, authproto.b64(f"{user} {digest}".encode()))
        return c.reply(10)


def test_cram_md5(backend):
    db, server = backend
    f = cram_md5(server, "alice", "alicepw")
    assert f[0] == "OK" and f[2] == "user=alice", f
    f = cram_md5(server, "alice", "wrong")
    assert f[0] == "FAIL", f
    f = cram_md5(server, "nosuch", "x")
    assert f[0] == "FAIL", f


def test_userdb_lookup(backend):
    db, server = backend
    with authproto.MasterConn(server.master_socket, 10) as m:
        m.handshake()
        f = m.user("alice", service="lmtp")
        assert f[0] == "USER" and f[2] == "alice", f
        d = authproto.fields_dict(f[3:])
        assert d == {"home": "/home/alice", "uid": "1001", "gid": "1001",
                     "quota_rule": "1G"}, f
        f = m.user("bob", service="lmtp")
        # the NULL quota column is not a field
        assert authproto.fields_dict(f[3:]) == {"home": "/home/bob", "uid": "1002",
                                                 "gid": "1002"}, f
        f = m.user("nosuch", service="lmtp")
        assert f[0] == "NOTFOUND", f


def test_iterate(backend):
    db, server = backend
    with authproto.MasterConn(server.master_socket, 10) as m:
        m.handshake()
        users, done = m.list_users()
        assert done[0] == "DONE" and done[2:] in ([], [""]), done
        assert sorted(users) == sorted(SQL_USERS), users
        users, done = m.list_users("user=a*")
        if TARGET == "roost":
            # roost's userdbs apply the mask (spec 5 allows either side)
            assert users == ["alice"], users
        else:
            # Dovecot 2.3 sends every user; doveadm filters
            assert "alice" in users, users
    roostadm = roost_binary_or_none("roostadm") if TARGET == "roost" else None
    if roostadm is not None:
        r = subprocess.run([roostadm, "user", "-a", server.master_socket, "*"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r
        assert sorted(r.stdout.split()) == sorted(SQL_USERS), r.stdout


def test_quote_in_username(backend):
    db, server = backend
    f = plain(server, "o'brien", "obpw")
    assert f[0] == "OK" and f[2] == "user=o'brien", f
    # an injection attempt is just an unknown user, not an SQL error
    mark = server.log_mark()
    f = plain(server, "x' OR '1'='1", "alicepw")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    with authproto.MasterConn(server.master_socket, 10) as m:
        m.handshake()
        f = m.user("o'brien", service="lmtp")
        assert f[0] == "USER" and "uid=1003" in f, f
    assert "query failed" not in server.log_since(mark).lower()


def test_wrong_db_password(backend):
    """A connect error is logged with the driver and the connect string
    without the password, and is an internal failure."""
    if TARGET != "roost":
        pytest.skip("log text is roost's")
    db, _ = backend
    server = sql_auth_server(db, connect=db.connect_string(password="wrongpw"))
    try:
        mark = server.log_mark()
        f = plain(server, "alice", "alicepw")
        assert f[0] == "FAIL" and "code=temp_fail" in f, f
        line = server.wait_log(mark, r"Password query failed: Connect to "
                               + db.name + r"\(host=127\.0\.0\.1 port=")
        assert "wrongpw" not in server.log_since(mark), line
        assert "authd" in line
    finally:
        server.cleanup()


def test_db_down_and_back(backend):
    """Stopped database: internal failure with a clear log line and no hang;
    once it is back, logins work again without restarting the server.
    (Dovecot 2.3 instead holds the requests until the database is back or
    its query timeout passes: roost-only.)"""
    if TARGET != "roost":
        pytest.skip("Dovecot queues requests while the database is down")
    db, server = backend
    assert plain(server, "alice", "alicepw")[0] == "OK"
    db.stop()
    try:
        mark = server.log_mark()
        for user in ("alice", "bob"):
            t0 = time.monotonic()
            f = plain(server, user, "x", timeout=15)
            assert time.monotonic() - t0 < 10, "the failure took too long"
            assert f[0] == "FAIL" and "code=temp_fail" in f, f
        with authproto.MasterConn(server.master_socket, 15) as m:
            m.handshake()
            f = m.user("alice", service="lmtp", timeout=15)
            assert f[0] == "FAIL", f
        if TARGET == "roost":
            server.wait_log(mark, r"Error: .*Password query failed: .*"
                            + db.name + r"\(host=127\.0\.0\.1 port=\d+ dbname=authdb user=authd\)")
            assert "authdpw" not in server.log_since(mark)
            server.wait_log(mark, r"Error: .*User query failed: ")
    finally:
        db.start()
    mark = server.log_mark()

    def back():
        f = plain(server, "alice", "alicepw")
        return f[0] == "OK"
    wait_for(back, 40, interval=0.5, what="logins to work again after the restart")
    if TARGET == "roost":
        server.wait_log(mark, r"Reconnected to " + db.name)
    with authproto.MasterConn(server.master_socket, 10) as m:
        m.handshake()
        assert m.user("alice", service="lmtp")[0] == "USER"
