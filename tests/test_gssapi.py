"""GSSAPI (RFC 4752) against a private MIT Kerberos realm.

A KDC for EXAMPLE.TEST runs per module in a temp dir on a free loopback
port (services.md section 6): service principals imap/localhost and
smtp/localhost in a keytab for the server, user principals with tickets
in private credential caches. The client side is python3-gssapi
(/usr/bin/python3), speaking the auth client protocol with ClientConn.

Both targets: ROOST_TEST_TARGET=dovecot runs the same cases against
Dovecot 2.3 (dovecot-gssapi); where roost deliberately differs the test
says so.
"""
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import authproto
from conftest import TARGET, AuthServer, make_tmpdir, wait_for

gssapi = pytest.importorskip(
    "gssapi", reason="python3-gssapi missing (run with /usr/bin/python3; "
    "scripts/install-deps.sh --test installs it)")

REALM = "EXAMPLE.TEST"
KRB_TOOLS = ("kdb5_util", "kadmin.local", "krb5kdc", "kinit")
# user principals and their passwords
PRINCIPALS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw",
              "dave": "davepw", "eve": "evepw", "frank": "frankpw"}
HOSTNAME = socket.gethostname()
# passwd-file users: carol is deliberately missing (known to the KDC only);
# bob lets alice act as him (k5principals); eve is in the deny passdb
USERS = {
    "alice": ("alicepw", 1001, 1001, "/home/alice", ""),
    "bob": ("{PLAIN}bobpw", 1002, 1002, "/home/bob", f"k5principals=alice@{REALM}"),
    "dave": ("davepw", 1004, 1004, "/home/dave", ""),
    "eve": ("evepw", 1005, 1005, "/home/eve", ""),
    "frank": ("frankpw", 1006, 1006, "/home/frank", "nologin reason=Moved"),
}

pytestmark = pytest.mark.skipif(
    any(shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin") is None
        for t in KRB_TOOLS),
    reason="MIT Kerberos tools missing (krb5-kdc krb5-admin-server krb5-user)")


def free_port_tu():
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC uses both)."""
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            u.close()
            t.close()


def sbin(tool):
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin")


class Kdc:
    """A private realm: KDC process, principals, keytab, credential caches."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="krb.", dir="/tmp")
        os.chmod(self.dir, 0o755)      # dovecot's auth process reads the keytab
        self.port = free_port_tu()
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.keytab = os.path.join(self.dir, "service.keytab")
        self.rcache_dir = os.path.join(self.dir, "rcache")
        self.trace = os.path.join(self.dir, "server-trace.log")
        self.proc = None
        os.mkdir(self.rcache_dir)
        os.chmod(self.rcache_dir, 0o1777)
        with open(self.krb5_conf, "w") as f:
            # clockskew = 2: lets the expired-ticket case run in seconds
            f.write(f"""\
[libdefaults]
    default_realm = {REALM}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    clockskew = 2
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{self.port}
    }}
[domain_realm]
    localhost = {REALM}
""")
        with open(self.kdc_conf, "w") as f:
            f.write(f"""\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
    {REALM} = {{
        database_name = {self.dir}/principal
        key_stash_file = {self.dir}/stash
        acl_file = {self.dir}/kadm5.acl
        max_life = 1d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{self.dir}/kdc.log
    admin_server = FILE:{self.dir}/kadmin.log
    default = FILE:{self.dir}/krb5lib.log
""")
        with open(os.path.join(self.dir, "kadm5.acl"), "w") as f:
            f.write(f"*/admin@{REALM} *\n")
        for p in (self.krb5_conf, self.kdc_conf):
            os.chmod(p, 0o644)
        self.env = {"KRB5_CONFIG": self.krb5_conf, "KRB5_KDC_PROFILE": self.kdc_conf}

    def run(self, *cmd, stdin=None):
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                           env={**os.environ, **self.env}, timeout=60)
        assert r.returncode == 0, f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}"
        return r.stdout

    def kadmin(self, query):
        return self.run(sbin("kadmin.local"), "-r", REALM, "-q", query)

    def start(self):
        self.run(sbin("kdb5_util"), "-r", REALM, "create", "-s", "-P", "masterpw")
        for user, pw in PRINCIPALS.items():
            self.kadmin(f"addprinc -pw {pw} {user}")
        services = ["imap/localhost", "smtp/localhost"]
        if HOSTNAME != "localhost":
            services.append(f"imap/{HOSTNAME}")    # the default hostname
        for svc in services:
            self.kadmin(f"addprinc -randkey {svc}")
        self.kadmin(f"ktadd -k {self.keytab} {' '.join(services)}")
        os.chmod(self.keytab, 0o644)   # test only: dovecot's auth user reads it
        out = open(os.path.join(self.dir, "krb5kdc.out"), "wb")
        self.proc = subprocess.Popen(
            [sbin("krb5kdc"), "-n", "-r", REALM, "-P", os.path.join(self.dir, "kdc.pid")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **self.env})
        out.close()

        def listening():
            r = subprocess.run(["ss", "-Hltn", f"sport = :{self.port}"],
                               capture_output=True, text=True)
            if self.proc.poll() is not None:
                raise AssertionError("krb5kdc exited: " + open(
                    os.path.join(self.dir, "krb5kdc.out")).read())
            return "LISTEN" in r.stdout
        wait_for(listening, 20, what=f"krb5kdc on 127.0.0.1:{self.port}")
        return self

    def kinit(self, user, lifetime=None):
        """A ticket for user in its own credential cache; returns its name."""
        ccache = f"FILE:{self.dir}/cc.{user}.{time.monotonic_ns()}"
        args = [sbin("kinit"), "-c", ccache]
        if lifetime is not None:
            args += ["-l", lifetime]
        self.run(*args, user, stdin=PRINCIPALS[user] + "\n")
        return ccache

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def kdc():
    k = Kdc()
    # the client side (python-gssapi in this process) reads the same config
    saved = os.environ.get("KRB5_CONFIG")
    try:
        k.start()
        os.environ["KRB5_CONFIG"] = k.krb5_conf
        yield k
    finally:
        if saved is None:
            os.environ.pop("KRB5_CONFIG", None)
        else:
            os.environ["KRB5_CONFIG"] = saved
        k.cleanup()


def server_env(kdc):
    env = {"KRB5_CONFIG": kdc.krb5_conf, "KRB5RCACHEDIR": kdc.rcache_dir,
           "KRB5_TRACE": kdc.trace}
    return env


def gss_config(kdc, hostname="localhost", deny_path=None):
    text = f"""\
auth_krb5_keytab = {kdc.keytab}
"""
    if hostname is not None:
        text += f'auth_gssapi_hostname = "{hostname}"\n'
    text += """\
# the principal alice@EXAMPLE.TEST logs in as alice
auth_username_format = %Ln
auth_verbose = yes
auth_debug = yes
"""
    if TARGET == "dovecot":
        # Dovecot clears the environment of its processes
        text += "import_environment = TZ KRB5_CONFIG KRB5RCACHEDIR KRB5_TRACE\n"
    if deny_path is not None:
        text += f"""\
passdb {{
  driver = passwd-file
  deny = yes
  args = {deny_path}
}}
"""
    return text


@pytest.fixture(scope="module")
def server(kdc):
    deny_dir = make_tmpdir("gd.")
    deny_path = os.path.join(deny_dir, "deny")
    with open(deny_path, "w") as f:
        f.write("eve\n")
    os.chmod(deny_path, 0o644)
    # the server writes its trace there (dovecot's auth runs as dovecot)
    open(kdc.trace, "a").close()
    os.chmod(kdc.trace, 0o666)
    s = AuthServer(mechanisms="plain gssapi", users=USERS, env=server_env(kdc),
                   extra_global=gss_config(kdc, deny_path=deny_path))
    try:
        s.start()
        yield s
    finally:
        s.cleanup()
        shutil.rmtree(deny_dir, ignore_errors=True)


# ---------------------------------------------------------------- client

def client_context(ccache, target="imap@localhost", mutual=True):
    creds = gssapi.Credentials(usage="initiate", store={"ccache": ccache})
    flags = (gssapi.RequirementFlag.mutual_authentication |
             gssapi.RequirementFlag.out_of_sequence_detection) if mutual else 0
    return gssapi.SecurityContext(
        name=gssapi.Name(target, gssapi.NameType.hostbased_service),
        creds=creds, usage="initiate", flags=flags,
        mech=gssapi.MechType.kerberos)


def b64(data):
    return base64.b64encode(data or b"").decode()


def layer_answer(ctx, authzid=b"", layer=0x01, size=b"\x00\x00\x00"):
    return ctx.wrap(bytes([layer]) + size + authzid, False).message


def gss_login(server, ccache, service="imap", target="imap@localhost", authzid=b"",
              mutual=True, initial=True, layer=0x01, answer=None, offers=None):
    """A whole GSSAPI exchange; returns the final reply fields.
    answer(ctx, offer) may replace the client's wrapped layer answer;
    offers (a list) collects the unwrapped layer offers."""
    ctx = client_context(ccache, target, mutual)
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        tok = ctx.step()
        rid = c.auth("GSSAPI", resp=b64(tok) if initial else None, service=service)
        sent_first = initial
        for _ in range(10):
            f = c.reply()
            assert f[1] == str(rid), f
            if f[0] != "CONT":
                return f
            data = base64.b64decode(f[2]) if len(f) > 2 else b""
            if not sent_first:
                assert data == b"", f"expected an empty challenge first, got {f!r}"
                c.cont(rid, b64(tok))
                sent_first = True
            elif not ctx.complete:
                c.cont(rid, b64(ctx.step(data)))
            else:
                offer = ctx.unwrap(data).message
                if offers is not None:
                    offers.append(offer)
                reply = (answer(ctx, offer) if answer is not None else
                         layer_answer(ctx, authzid, layer))
                c.cont(rid, b64(reply))
        raise AssertionError("exchange did not end")


def raw_gss(server, *tokens, service="imap"):
    """Send raw client tokens (AUTH resp=, then CONTs); returns the last reply."""
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        rid = c.auth("GSSAPI", resp=b64(tokens[0]), service=service)
        f = c.reply()
        for t in tokens[1:]:
            if f[0] != "CONT":
                break
            c.cont(rid, b64(t))
            f = c.reply()
        return f


def assert_ok(f, user):
    assert f[0] == "OK", f"expected OK for {user}, got {f!r}"
    assert f"user={user}" in f[2:], f


def assert_fail(f):
    assert f[0] == "FAIL", f"expected FAIL, got {f!r}"


# ---------------------------------------------------------------- tests

def test_mech_advertised(server):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
    # Dovecot announces GSSAPI without security flags
    assert c.mechs.get("GSSAPI") == [], c.handshake_lines


def test_success_mutual(server, kdc):
    mark = server.log_mark()
    offers = []
    f = gss_login(server, kdc.kinit("alice"), offers=offers)
    assert_ok(f, "alice")
    # RFC 4752 3.1: only "no security layer", Dovecot's maximum size
    assert offers == [b"\x01\xff\xff\xff"], offers
    if TARGET == "roost":
        server.wait_log(mark, r"alice.*GSSAPI: security context established for "
                        r"alice@EXAMPLE\.TEST")


def test_success_without_mutual_auth(server, kdc):
    # no AP-REP: the server offers the layers right after the first token
    f = gss_login(server, kdc.kinit("alice"), mutual=False)
    assert_ok(f, "alice")


def test_success_without_initial_response(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), initial=False)
    assert_ok(f, "alice")


def test_submission_uses_smtp_principal(server, kdc):
    if TARGET == "dovecot":
        pytest.skip("Debian's Dovecot 2.3.19 asks the keytab for "
                    "submission/<host>; roost uses smtp/<host>, the name "
                    "clients request (as newer Dovecot releases do)")
    f = gss_login(server, kdc.kinit("alice"), service="submission",
                  target="smtp@localhost")
    assert_ok(f, "alice")


def test_authzid_same_user(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), authzid=b"alice")
    assert_ok(f, "alice")


def test_authzid_allowed_by_k5principals(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), authzid=b"bob")
    assert_ok(f, "bob")


def test_authzid_other_user_refused(server, kdc):
    mark = server.log_mark()
    f = gss_login(server, kdc.kinit("alice"), authzid=b"dave")
    assert_fail(f)
    server.wait_log(mark, r"not authorized to log in as dave")


def test_authzid_with_nul_refused(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), authzid=b"bob\0alice")
    assert_fail(f)


def test_user_unknown_to_passdb_still_logs_in(server, kdc):
    # Dovecot 2.3: the KDC vouched for carol; a passdb that doesn't know
    # her does not stop the login (only disabled/denied users are)
    f = gss_login(server, kdc.kinit("carol"))
    assert_ok(f, "carol")


def test_deny_passdb_refuses(server, kdc):
    mark = server.log_mark()
    f = gss_login(server, kdc.kinit("eve"))
    assert_fail(f)
    server.wait_log(mark, r"eve.*deny")


def test_wrong_service_principal(server, kdc):
    # a ticket for smtp/localhost presented to the imap service
    mark = server.log_mark()
    f = gss_login(server, kdc.kinit("alice"), service="imap", target="smtp@localhost")
    assert_fail(f)
    if TARGET == "roost":
        server.wait_log(mark, r"GSSAPI: gss_accept_sec_context\(\) failed: .*")
    else:
        server.wait_log(mark, r"While processing incoming data")


def test_no_keytab_entry(server, kdc):
    # pop3 -> pop@localhost: not in the keytab
    mark = server.log_mark()
    f = raw_gss(server, b"", service="pop3")
    assert_fail(f)
    if TARGET == "roost":
        assert "temp" in "\t".join(f), f   # internal failure, as Dovecot
        server.wait_log(mark, r"GSSAPI: service credentials for pop@localhost .*"
                        r"gss_acquire_cred\(\) failed")
    else:
        server.wait_log(mark, r"acquiring service credentials")


def test_expired_ticket(server, kdc):
    ccache = kdc.kinit("alice", lifetime="3s")
    ctx = client_context(ccache)
    token = ctx.step()          # service ticket valid for 3 s
    time.sleep(3 + 2 + 1.5)     # lifetime + clockskew + margin
    mark = server.log_mark()
    f = raw_gss(server, token)
    assert_fail(f)
    server.wait_log(mark, r"expired|skew")


def test_replayed_token(server, kdc):
    ctx = client_context(kdc.kinit("alice"), mutual=False)
    token = ctx.step()
    f = raw_gss(server, token)
    assert f[0] == "CONT", f           # first use: the layer offer
    mark = server.log_mark()
    f = raw_gss(server, token)
    assert_fail(f)
    server.wait_log(mark, r"replay")


@pytest.mark.parametrize("token", [
    b"garbage",
    b"\x60\x82\x10\x00" + b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02",  # header, no body
    b"\x00" * 64,
    os.urandom(12000),                                # large, under the line limit
], ids=["garbage", "truncated-header", "zeros", "oversized-random"])
def test_malformed_initial_token(server, token):
    assert_fail(raw_gss(server, token))


def test_truncated_real_token(server, kdc):
    token = client_context(kdc.kinit("alice")).step()
    assert_fail(raw_gss(server, token[:len(token) // 2]))
    assert_fail(raw_gss(server, token[:-1]))


def test_line_over_protocol_limit(server):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        c.auth("GSSAPI", resp=b64(os.urandom(20000)), service="imap")
        # Dovecot and roost drop a client that exceeds the line limit
        try:
            f = c.reply(timeout=5)
            assert_fail(f)
        except authproto.Closed:
            pass


def test_garbage_layer_answer(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), answer=lambda ctx, offer: b"garbage")
    assert_fail(f)


def test_short_layer_answer(server, kdc):
    mark = server.log_mark()
    f = gss_login(server, kdc.kinit("alice"),
                  answer=lambda ctx, offer: ctx.wrap(b"\x01\x00", False).message)
    assert_fail(f)
    server.wait_log(mark, r"too short|Invalid response length")


def test_unoffered_layer_refused(server, kdc):
    f = gss_login(server, kdc.kinit("alice"), layer=0x04)
    if TARGET == "dovecot":
        # Dovecot doesn't look at the choice; roost refuses a layer it
        # did not offer (and would not apply)
        assert_ok(f, "alice")
    else:
        assert_fail(f)


def test_still_serving(server, kdc):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        f = c.plain("alice", "alicepw")
    assert f[0] == "OK", f
    assert_ok(gss_login(server, kdc.kinit("alice")), "alice")


def test_all_keytab_entries(kdc):
    """auth_gssapi_hostname = $ALL: any principal of the keytab."""
    open(kdc.trace, "a").close()
    s = AuthServer(mechanisms="gssapi", users=USERS, env=server_env(kdc),
                   extra_global=gss_config(kdc, hostname="$ALL"))
    try:
        s.start()
        # service imap with a ticket for smtp/localhost: fine with $ALL
        assert_ok(gss_login(s, kdc.kinit("alice"), service="imap",
                            target="smtp@localhost"), "alice")
    finally:
        s.cleanup()


def test_nologin_field_reaches_client(server, kdc):
    # passdb extra fields go with the OK; the login process refuses
    f = gss_login(server, kdc.kinit("frank"))
    assert_ok(f, "frank")
    assert "nologin" in f[2:] and "reason=Moved" in f[2:], f


def test_default_hostname(kdc):
    """No auth_gssapi_hostname: Dovecot 2.3 asks for "imap@" without a
    host, which accepts the imap keys of every host in the keytab."""
    s = AuthServer(mechanisms="gssapi", users=USERS, env=server_env(kdc),
                   extra_global=gss_config(kdc, hostname=None))
    try:
        s.start()
        for host in sorted({HOSTNAME, "localhost"}):
            assert_ok(gss_login(s, kdc.kinit("alice"), service="imap",
                                target=f"imap@{host}"), "alice")
        # but only the request's service
        assert_fail(gss_login(s, kdc.kinit("alice"), service="imap",
                              target="smtp@localhost"))
    finally:
        s.cleanup()
