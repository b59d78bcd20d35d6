"""passdb/userdb ldap against a real OpenLDAP slapd 2.5.

slapd runs as in services.md section 5: a slapd.conf in a temp dir, a
self-signed certificate for 127.0.0.1 (the test CA), ldap:// and ldaps://
on free loopback ports, in the foreground as our child, seeded with
ldapadd, stopped by PID. The auth server under test (roost by default,
ROOST_TEST_TARGET=dovecot for the reference when dovecot-ldap is
installed) uses

    passdb { driver = ldap  args = dovecot-ldap.conf.ext }
    userdb { driver = ldap  args = dovecot-ldap.conf.ext }

Covered: password lookup mode (PLAIN ok / wrong / unknown, CRAM-MD5 from a
plaintext userPassword), authentication binds (search + bind, and
auth_bind_userdn without a search), userdb lookups with user_attrs and a
%{ldap:...} template, iteration (LIST, roostadm user '*'), StartTLS and
ldaps with the test CA, URI failover, filter injection attempts in user
names, a filter matching two entries, and slapd going away while requests
flow (temporary failure with a logged reason, no hang, recovery).
"""
import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import time

import pytest

from conftest import (AuthServer, TARGET, free_port, make_tmpdir, roost_binary_or_none,
                      stop_pid, wait_for)
import authproto

SUFFIX = "dc=example,dc=com"
PEOPLE = f"ou=people,{SUFFIX}"
WEIRD_UID = "we*ird(1)\\x"


def need(cond, why):
    if not cond:
        pytest.skip(why)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kw)


def slappasswd(pw):
    return run(["/usr/sbin/slappasswd", "-h", "{SSHA}", "-s", pw]).stdout.strip()


class Slapd:
    """slapd in a temp dir (services.md section 5)."""

    def __init__(self):
        need(shutil.which("slapd") or os.path.exists("/usr/sbin/slapd"),
             "slapd is not installed (apt-get install slapd ldap-utils)")
        need(shutil.which("ldapadd"), "ldap-utils is not installed")
        self.dir = make_tmpdir("ldap.")
        self.port = free_port()
        self.tls_port = free_port()
        self.proc = None
        os.mkdir(os.path.join(self.dir, "db"))
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", key, "-out", self.cert])
        os.chmod(key, 0o644)   # test key: slapd may run as another user
        os.chmod(self.cert, 0o644)
        with open(os.path.join(self.dir, "slapd.conf"), "w") as f:
            f.write(f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile  {self.dir}/slapd.pid
argsfile {self.dir}/slapd.args
TLSCertificateFile    {self.cert}
TLSCertificateKeyFile {key}
access to attrs=userPassword by dn.exact="cn=authd,{SUFFIX}" read by self write by anonymous auth by * none
access to * by * read
database mdb
maxsize  104857600
suffix   "{SUFFIX}"
rootdn   "cn=admin,{SUFFIX}"
rootpw   {slappasswd("adminpw")}
directory {self.dir}/db
index objectClass,uid eq
# the default 500 entries per search, but paged searches (RFC 2696) by the
# service account may go on (test_iterate_paged)
limits dn.exact="cn=authd,{SUFFIX}" size=500 size.prtotal=unlimited
""")
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        self.ldaps_uri = f"ldaps://127.0.0.1:{self.tls_port}/"

    def start(self):
        log = open(os.path.join(self.dir, "slapd.log"), "ab")
        self.proc = subprocess.Popen(
            ["slapd", "-d", "stats", "-f", os.path.join(self.dir, "slapd.conf"),
             "-h", f"{self.uri} {self.ldaps_uri}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"slapd exited: {self.log()[-2000:]}")
            r = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-s", "base", "-b", "",
                                "namingContexts"], capture_output=True, timeout=10)
            return r.returncode == 0
        wait_for(up, 20, interval=0.1, what="slapd to answer")

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc, sig=2)   # SIGINT: slapd's clean stop
            self.proc = None

    def log(self):
        with open(os.path.join(self.dir, "slapd.log"), errors="replace") as f:
            return f.read()

    def seed(self):
        def person(uid, cn, uidnum, pw, dn=None, extra=""):
            dn = dn or f"uid={uid},{PEOPLE}"
            return (f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
                    f"uid: {uid}\ncn: {cn}\nsn: {cn}\nuidNumber: {uidnum}\n"
                    f"gidNumber: {uidnum}\nhomeDirectory: /home/{cn}\n"
                    f"userPassword: {pw}\n{extra}\n")
        ldif = (f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
                f"dc: example\no: Example\n\n"
                f"dn: cn=authd,{SUFFIX}\nobjectClass: organizationalRole\n"
                f"objectClass: simpleSecurityObject\ncn: authd\n"
                f"userPassword: {slappasswd('authdpw')}\n\n"
                f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
                f"dn: ou=other,{SUFFIX}\nobjectClass: organizationalUnit\nou: other\n\n"
                + person("alice", "alice", 1001, slappasswd("alicepw"),
                         extra="mail: alice@example.com\n")
                # a plaintext userPassword: CRAM-MD5 needs the secret
                + person("bob", "bob", 1002, "bobpw")
                # filter metacharacters in the uid itself (RDN cn=weird)
                + person(WEIRD_UID, "weird", 1003, "weirdpw", dn=f"cn=weird,{PEOPLE}")
                # two entries with the same uid
                + person("dup", "dup1", 1004, "duppw", dn=f"cn=dup1,{PEOPLE}")
                + person("dup", "dup2", 1005, "duppw", dn=f"cn=dup2,ou=other,{SUFFIX}"))
        subprocess.run(["ldapadd", "-x", "-H", self.uri, "-D", f"cn=admin,{SUFFIX}",
                        "-w", "adminpw"], input=ldif, check=True, capture_output=True,
                       text=True, timeout=30)

    def cleanup(self):
        self.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def slapd():
    if TARGET == "dovecot":
        need(any(os.path.exists(os.path.join(d, "libauthdb_ldap.so")) for d in
                 ("/usr/lib/dovecot/modules/auth", "/usr/lib/dovecot/modules")),
             "Dovecot's LDAP module (dovecot-ldap) is not installed")
    s = Slapd()
    try:
        s.start()
        s.seed()
    except BaseException:
        s.cleanup()
        raise
    yield s
    s.cleanup()


def ldap_conf(slapd, uris=None, **settings):
    conf = {
        "uris": uris or slapd.uri,
        "dn": f"cn=authd,{SUFFIX}",
        "dnpass": "authdpw",
        "base": PEOPLE,
        "scope": "subtree",
        "pass_filter": "(&(objectClass=posixAccount)(uid=%u))",
        "pass_attrs": "uid=user,userPassword=password",
        "user_filter": "(&(objectClass=posixAccount)(uid=%u))",
        "user_attrs": "homeDirectory=home,uidNumber=uid,gidNumber=gid,"
                      "=mail=maildir:/var/mail/%{ldap:uid}",
        "iterate_filter": "(objectClass=posixAccount)",
        "iterate_attrs": "uid=user",
        "default_pass_scheme": "PLAIN",
    }
    conf.update(settings)
    return "".join(f"{k} = {v}\n" for k, v in conf.items() if v is not None)


def ldap_server(slapd, extra_global="", **settings):
    """An auth server whose passdb and userdb are ldap on slapd."""
    s = AuthServer(mechanisms="plain login cram-md5",
                   # every character may reach the filter (escaping is tested)
                   extra_global="auth_username_chars =\n" + extra_global)
    conf = os.path.join(s.dir, "dovecot-ldap.conf.ext")
    with open(conf, "w") as f:
        f.write("# written by test_ldap_backend.py\n" + ldap_conf(slapd, **settings))
    os.chmod(conf, 0o644)
    text = s.config_text()
    start = text.index("passdb {")
    end = text.index("service auth {")
    text = (text[:start] + f"passdb {{\n  driver = ldap\n  args = {conf}\n}}\n"
            f"userdb {{\n  driver = ldap\n  args = {conf}\n}}\n" + text[end:])
    s.write_config(text)
    try:
        s.start()
    except BaseException:
        s.cleanup()
        raise
    return s


@pytest.fixture(scope="module")
def lookup_server(slapd):
    s = ldap_server(slapd, base=SUFFIX)
    yield s
    s.cleanup()


@pytest.fixture(scope="module", params=["search", "userdn"])
def bind_server(request, slapd):
    if request.param == "search":
        s = ldap_server(slapd, auth_bind="yes", pass_attrs="uid=user", dn=None, dnpass=None)
    else:
        s = ldap_server(slapd, auth_bind="yes", pass_attrs="uid=user",
                        auth_bind_userdn=f"uid=%u,{PEOPLE}")
    s.bind_mode = request.param
    yield s
    s.cleanup()


def plain(server, user, password, timeout=10.0):
    with authproto.ClientConn(server.client_socket, timeout) as c:
        c.handshake()
        return c.plain(user, password, timeout=timeout)


def ok(f, user):
    return f[0] == "OK" and f[2] == f"user={user}"


def failed(f):
    """An authentication failure, not a temporary (internal) one."""
    return f[0] == "FAIL" and "code=temp_fail" not in f


def temp_failed(f):
    return f[0] == "FAIL" and "code=temp_fail" in f


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


# ---- password lookup mode

def test_lookup_plain(lookup_server):
    s = lookup_server
    assert ok(plain(s, "alice", "alicepw"), "alice")     # {SSHA} userPassword
    assert ok(plain(s, "bob", "bobpw"), "bob")           # plaintext, default scheme
    assert failed(plain(s, "alice", "wrong"))
    assert failed(plain(s, "nosuch", "alicepw"))
    assert ok(plain(s, WEIRD_UID, "weirdpw"), WEIRD_UID)


def test_lookup_cram_md5(lookup_server):
    s = lookup_server
    assert ok(cram_md5(s, "bob", "bobpw"), "bob")
    assert failed(cram_md5(s, "bob", "wrong"))
    assert failed(cram_md5(s, "nosuch", "x"))
    # {SSHA} can't give CRAM-MD5 its secret: a failure, not an error
    assert cram_md5(s, "alice", "alicepw")[0] == "FAIL"


@pytest.mark.parametrize("user", ["*", "a*", "*)(uid=*", "alice)(uid=*", "alice)(|(uid=*",
                                  "(", ")", "\\", "\\2a", "alic\\65", "alice\\", '"alice"',
                                  "alice'", "*)(objectClass=*", "we*ird(1)*"])
def test_injection(lookup_server, user):
    """Filter metacharacters are escaped: they match no other entry, and
    they are not a filter syntax error either (that would be temp_fail)."""
    s = lookup_server
    for pw in ("alicepw", "bobpw", "weirdpw"):
        f = plain(s, user, pw)
        assert failed(f), (user, pw, f)
    with authproto.MasterConn(s.master_socket, 10) as m:
        m.handshake()
        f = m.user(user, service="lmtp")
        assert f[0] == "NOTFOUND", (user, f)


def test_nul_in_username(lookup_server):
    """A NUL can't reach the filter: LOGIN with one fails (the name is
    cut or refused, never a different user)."""
    s = lookup_server
    with authproto.ClientConn(s.client_socket, 10) as c:
        c.handshake()
        rid = c.auth("LOGIN")
        f = c.reply()
        assert f[0] == "CONT", f
        c.cont(rid, authproto.b64(b"nosuch\0alice"))
        f = c.reply()
        if f[0] == "CONT":
            c.cont(rid, authproto.b64(b"alicepw"))
            f = c.reply()
        assert f[0] == "FAIL", f


def test_multiple_entries(lookup_server):
    """A filter matching two entries is an error, not a login."""
    s = lookup_server
    mark = s.log_mark()
    f = plain(s, "dup", "duppw")
    assert temp_failed(f), f
    if TARGET == "roost":
        s.wait_log(mark, r"pass_filter matched multiple objects")
    with authproto.MasterConn(s.master_socket, 10) as m:
        m.handshake()
        assert m.user("dup", service="lmtp")[0] == "FAIL"


def test_userdb_lookup(lookup_server):
    s = lookup_server
    with authproto.MasterConn(s.master_socket, 10) as m:
        m.handshake()
        f = m.user("alice", service="lmtp")
        assert f[0] == "USER" and f[2] == "alice", f
        assert authproto.fields_dict(f[3:]) == {
            "home": "/home/alice", "uid": "1001", "gid": "1001",
            "mail": "maildir:/var/mail/alice"}, f
        f = m.user("nosuch", service="lmtp")
        assert f[0] == "NOTFOUND", f
        # PASS: a passdb lookup without a password
        f = m.passdb("bob")
        assert f[0] == "PASS", f
        assert m.passdb("nosuch")[0] == "NOTFOUND"


def test_iterate(lookup_server):
    s = lookup_server
    everyone = sorted(["alice", "bob", WEIRD_UID, "dup", "dup"])
    with authproto.MasterConn(s.master_socket, 10) as m:
        m.handshake()
        users, done = m.list_users()
        assert done[0] == "DONE" and done[2:] in ([], [""]), done
        assert sorted(users) == everyone, users
        users, done = m.list_users("user=a*")
        if TARGET == "roost":
            # roost's userdbs apply the mask (spec 5 allows either side)
            assert users == ["alice"], users
        else:
            assert "alice" in users, users
    roostadm = roost_binary_or_none("roostadm") if TARGET == "roost" else None
    if roostadm is not None:
        r = subprocess.run([roostadm, "user", "-a", s.master_socket, "*"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r
        assert sorted(r.stdout.split()) == everyone, r.stdout


# ---- authentication binds

def test_auth_bind(bind_server, slapd):
    s = bind_server
    mark = len(slapd.log())
    assert ok(plain(s, "alice", "alicepw"), "alice")
    assert ok(plain(s, "bob", "bobpw"), "bob")
    assert failed(plain(s, "alice", "wrong"))
    assert failed(plain(s, "alice", "bobpw"))
    # empty password: never an (anonymous) bind
    assert failed(plain(s, "alice", ""))
    if s.bind_mode == "search":
        assert failed(plain(s, "nosuch", "x"))
        assert ok(plain(s, WEIRD_UID, "weirdpw"), WEIRD_UID)
    else:
        # no search: the DN simply doesn't exist
        assert failed(plain(s, "nosuch", "x"))
    # slapd saw the user's binds
    log = slapd.log()[mark:]
    assert f'BIND dn="uid=alice,{PEOPLE}" method=128' in log


@pytest.mark.parametrize("user", ["*", "alice)(uid=*", "alice,ou=people", "\\",
                                  "alice+cn=x", "*)(|(uid=*"])
def test_auth_bind_injection(bind_server, user):
    assert failed(plain(bind_server, user, "alicepw")), user


# ---- TLS and failover

@pytest.mark.parametrize("mode", ["starttls", "ldaps", "failover"])
def test_tls_and_failover(slapd, mode):
    if mode == "starttls":
        kw = dict(tls="yes", tls_ca_cert_file=slapd.cert, tls_require_cert="demand")
    elif mode == "ldaps":
        kw = dict(uris=slapd.ldaps_uri, tls_ca_cert_file=slapd.cert,
                  tls_require_cert="demand")
    else:
        # nothing listens on the first one
        kw = dict(uris=f"ldap://127.0.0.1:{free_port()}/ {slapd.uri}")
    mark = len(slapd.log())
    s = ldap_server(slapd, **kw)
    try:
        assert ok(plain(s, "alice", "alicepw"), "alice")
        assert failed(plain(s, "alice", "wrong"))
        with authproto.MasterConn(s.master_socket, 10) as m:
            m.handshake()
            assert m.user("bob", service="lmtp")[0] == "USER"
        log = slapd.log()[mark:]
        if mode == "failover" and TARGET == "roost":
            s.wait_log(0, r"Warning: LDAP .*: ldap://127\.0\.0\.1:\d+/: Can't contact "
                       r"LDAP server \(using ldap://127\.0\.0\.1:%d/\)" % slapd.port)
        if mode == "starttls":
            assert "EXT oid=1.3.6.1.4.1.1466.20037" in log
        if mode != "failover":
            assert "TLS established" in log or "tls_ssf=" in log, log[-2000:]
    finally:
        s.cleanup()


def test_tls_untrusted_ca(slapd):
    """Without the test CA the certificate is refused: a temporary failure
    with the reason logged."""
    s = ldap_server(slapd, uris=slapd.ldaps_uri, tls_require_cert="demand",
                    tls_ca_cert_file="/etc/ssl/certs/ca-certificates.crt")
    try:
        mark = s.log_mark()
        assert temp_failed(plain(s, "alice", "alicepw"))
        if TARGET == "roost":
            s.wait_log(mark, r"Can't connect to server: ldaps://127\.0\.0\.1:\d+/")
    finally:
        s.cleanup()


# ---- faults

def test_server_down_and_back(slapd):
    """slapd stops while requests flow: temporary failures with the reason
    logged, no hang beyond the timeout; after slapd restarts, logins work
    again without restarting the auth server."""
    if TARGET != "roost":
        pytest.skip("Dovecot queues requests while LDAP is down (log text is roost's)")
    s = ldap_server(slapd)
    try:
        assert ok(plain(s, "alice", "alicepw"), "alice")
        # requests in flight while slapd goes away
        conns = []
        for _ in range(5):
            c = authproto.ClientConn(s.client_socket, 15)
            c.handshake()
            c.auth("PLAIN", resp=authproto.plain_resp("alice", "alicepw"))
            conns.append(c)
        mark = s.log_mark()
        slapd.stop()
        for c in conns:
            f = c.reply(15)
            assert f[0] in ("OK", "FAIL"), f
            c.close()
        for user in ("alice", "bob"):
            t0 = time.monotonic()
            f = plain(s, user, "x", timeout=15)
            assert time.monotonic() - t0 < 8, "the failure took too long"
            assert temp_failed(f), f
        with authproto.MasterConn(s.master_socket, 15) as m:
            m.handshake()
            assert m.user("alice", service="lmtp", timeout=15)[0] == "FAIL"
        s.wait_log(mark, r"Error: .*LDAP .*dovecot-ldap\.conf\.ext: "
                   r"(connection to ldap://127\.0\.0\.1:\d+/ lost|Can't connect to server: "
                   r"ldap://127\.0\.0\.1:\d+/)")
    finally:
        slapd.start()
    try:
        mark = s.log_mark()

        def back():
            return ok(plain(s, "alice", "alicepw"), "alice")
        wait_for(back, 30, interval=0.5, what="logins to work again after slapd restarted")
        s.wait_log(mark, r"Info: LDAP .*: Reconnected to ldap://127\.0\.0\.1:\d+/")
        with authproto.MasterConn(s.master_socket, 10) as m:
            m.handshake()
            assert m.user("alice", service="lmtp")[0] == "USER"
    finally:
        s.cleanup()


def all_threads_stopped(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if data[data.rindex(")") + 2] not in ("T", "t"):
            return False
    return True


def test_server_hangs(slapd):
    """A server that accepts but never answers (slapd stopped with SIGSTOP):
    the request fails after the timeout (ldaprc TIMEOUT), not later."""
    if TARGET != "roost":
        pytest.skip("roost's request timeout")
    s = AuthServer()   # only for its temp dir
    ldaprc = os.path.join(s.dir, "ldaprc")
    s.cleanup()
    srv = None
    try:
        os.makedirs(os.path.dirname(ldaprc), exist_ok=True)
        with open(ldaprc, "w") as f:
            f.write("TIMEOUT 2\nNETWORK_TIMEOUT 2\n")
        os.chmod(ldaprc, 0o644)
        srv = ldap_server(slapd, ldaprc_path=ldaprc)
        assert ok(plain(srv, "alice", "alicepw"), "alice")
        mark = srv.log_mark()
        os.kill(slapd.proc.pid, 19)   # SIGSTOP
        try:
            # the stop takes effect asynchronously: wait until every
            # thread of slapd is stopped before asking
            wait_for(lambda: all_threads_stopped(slapd.proc.pid), 10,
                     what="slapd stopped")
            t0 = time.monotonic()
            f = plain(srv, "alice", "alicepw", timeout=20)
            took = time.monotonic() - t0
            assert temp_failed(f), f
            assert took < 6, f"took {took:.1f}s"
            srv.wait_log(mark, r"search timed out after 2 secs")
        finally:
            os.kill(slapd.proc.pid, 18)   # SIGCONT
        wait_for(lambda: ok(plain(srv, "alice", "alicepw"), "alice"), 20, interval=0.5,
                 what="logins to work again")
    finally:
        if srv is not None:
            srv.cleanup()
        shutil.rmtree(os.path.dirname(ldaprc), ignore_errors=True)


def test_config_errors(slapd):
    """Errors in dovecot-ldap.conf.ext name file:line."""
    if TARGET != "roost":
        pytest.skip("error text is roost's")
    s = AuthServer()
    try:
        conf = os.path.join(s.dir, "dovecot-ldap.conf.ext")
        with open(conf, "w") as f:
            f.write(f"uris = {slapd.uri}\nbase = {SUFFIX}\nsaerch_base = x\n")
        text = s.config_text()
        start = text.index("passdb {")
        end = text.index("userdb {")
        s.write_config(text[:start] + f"passdb {{\n  driver = ldap\n  args = {conf}\n}}\n"
                       + text[end:])
        with pytest.raises(AssertionError) as e:
            s.start(timeout=10)
        assert f"{conf}:3: Unknown setting: saerch_base" in str(e.value), str(e.value)
    finally:
        s.cleanup()


def test_debug_log(slapd):
    """auth_debug shows the search and what came back, the password hidden."""
    if TARGET != "roost":
        pytest.skip("log text is roost's")
    s = ldap_server(slapd, extra_global="auth_debug = yes\n")
    try:
        mark = s.log_mark()
        assert ok(plain(s, "bob", "bobpw"), "bob")
        s.wait_log(mark, r"ldap: search base=ou=people,dc=example,dc=com "
                   r"filter=\(&\(objectClass=posixAccount\)\(uid=bob\)\)")
        line = s.wait_log(mark, r"ldap: result: ")
        assert "uid=bob" in line and "userPassword=<hidden>" in line, line
        assert "bobpw" not in s.log_since(mark)
    finally:
        s.cleanup()


@pytest.mark.parametrize("mode", ["lookup", "auth_bind"])
def test_many_in_flight(slapd, mode):
    """Many requests at once: searches share the connection (message ids),
    binds queue on theirs; every reply goes to its own request."""
    kw = dict(auth_bind="yes", pass_attrs="uid=user") if mode == "auth_bind" else {}
    s = ldap_server(slapd, **kw)
    try:
        users = [("alice", "alicepw"), ("bob", "bobpw"), ("alice", "bad"),
                 ("nosuch", "x"), (WEIRD_UID, "weirdpw")]
        conns = []
        for i in range(40):
            c = authproto.ClientConn(s.client_socket, 20)
            c.handshake()
            user, pw = users[i % len(users)]
            c.auth("PLAIN", resp=authproto.plain_resp(user, pw))
            conns.append((c, user, pw))
        for c, user, pw in conns:
            f = c.reply(20)
            c.close()
            if pw in ("alicepw", "bobpw", "weirdpw"):
                assert ok(f, user), (user, f)
            else:
                assert failed(f), (user, f)
    finally:
        s.cleanup()


@pytest.mark.parametrize("mode", ["lookup", "auth_bind"])
def test_auth_cache(slapd, mode):
    """The cache key comes from the filter/base/attr templates: a second
    login and userdb lookup are answered from the cache while slapd is
    frozen (SIGSTOP); another user still goes to LDAP and times out."""
    kw = dict(auth_bind="yes", pass_attrs="uid=user") if mode == "auth_bind" else {}
    d = make_tmpdir("ldaprc.")
    try:
        ldaprc = os.path.join(d, "ldaprc")
        with open(ldaprc, "w") as f:
            f.write("TIMEOUT 2\nNETWORK_TIMEOUT 2\n")
        os.chmod(ldaprc, 0o644)
        if TARGET == "roost":
            kw["ldaprc_path"] = ldaprc
        s = ldap_server(slapd, extra_global="auth_cache_size = 1M\n", **kw)
        try:
            assert ok(plain(s, "alice", "alicepw"), "alice")
            with authproto.MasterConn(s.master_socket, 10) as m:
                m.handshake()
                assert m.user("alice", service="lmtp")[0] == "USER"
            os.kill(slapd.proc.pid, 19)   # SIGSTOP
            try:
                wait_for(lambda: all_threads_stopped(slapd.proc.pid), 10,
                         what="slapd stopped")
                t0 = time.monotonic()
                assert ok(plain(s, "alice", "alicepw", timeout=5), "alice")
                with authproto.MasterConn(s.master_socket, 10) as m:
                    m.handshake()
                    f = m.user("alice", service="lmtp", timeout=5)
                    assert f[0] == "USER" and "home=/home/alice" in f, f
                assert time.monotonic() - t0 < 1.5
                if TARGET == "roost":
                    f = plain(s, "bob", "bobpw", timeout=15)
                    assert temp_failed(f), f
            finally:
                os.kill(slapd.proc.pid, 18)   # SIGCONT
        finally:
            s.cleanup()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_iterate_paged(slapd):
    """More users than slapd's default size limit (500): the listing reads
    them in pages (RFC 2696) and gets every one. (Dovecot 2.3 does not
    page: its listing fails at the size limit.)"""
    if TARGET != "roost":
        pytest.skip("Dovecot 2.3's user iteration does not use paged results")
    count = 1200
    ldif = [f"dn: ou=bulk,{SUFFIX}\nobjectClass: organizationalUnit\nou: bulk\n"]
    for i in range(count):
        ldif.append(f"dn: uid=bulk{i},ou=bulk,{SUFFIX}\nobjectClass: account\n"
                    f"objectClass: posixAccount\nuid: bulk{i}\ncn: bulk{i}\n"
                    f"uidNumber: {5000 + i}\ngidNumber: 5000\nhomeDirectory: /home/bulk{i}\n")
    subprocess.run(["ldapadd", "-x", "-H", slapd.uri, "-D", f"cn=admin,{SUFFIX}",
                    "-w", "adminpw"], input="\n".join(ldif), check=True,
                   capture_output=True, text=True, timeout=120)
    # the service account alone hits the limit without paging
    r = subprocess.run(["ldapsearch", "-x", "-H", slapd.uri, "-D", f"cn=authd,{SUFFIX}",
                        "-w", "authdpw", "-b", f"ou=bulk,{SUFFIX}", "(objectClass=posixAccount)",
                        "uid"], capture_output=True, text=True, timeout=60)
    assert "Size limit exceeded" in r.stdout + r.stderr, r.stdout[-500:]
    s = ldap_server(slapd, base=f"ou=bulk,{SUFFIX}")
    try:
        with authproto.MasterConn(s.master_socket, 60) as m:
            m.handshake()
            users, done = m.list_users(timeout=60)
            assert done[0] == "DONE" and done[2:] in ([], [""]), done
            assert sorted(users) == sorted(f"bulk{i}" for i in range(count))
    finally:
        s.cleanup()
