"""ANONYMOUS (RFC 4505) and EXTERNAL (RFC 4422 App. A) on the raw auth
client socket, against roost and (ROOST_TEST_TARGET=dovecot) the Dovecot 2.3
reference. EXTERNAL needs no TLS in the auth server: the login process sends
`valid-client-cert` and `cert_username=` on the AUTH line, and
auth_ssl_username_from_cert = yes makes the server use that name.

One deliberate difference: roost refuses EXTERNAL without `valid-client-cert`,
Dovecot 2.3 trusts cert_username alone (test_external_needs_valid_cert_flag).
"""
import pytest

import authproto
from authproto import b64
from conftest import USERS, new_server

EXT_USERS = dict(USERS)
EXT_USERS["anonymous"] = ("anonpw", 1004, 1004, "/home/anon", "")
EXT_USERS["certuser"] = ("", 1003, 1003, "/home/cert", "nopassword")

CERT = ("valid-client-cert", "cert_username=certuser")


@pytest.fixture(scope="module")
def server():
    s = new_server(mechanisms="plain anonymous external", users=EXT_USERS,
                   extra_global="auth_ssl_username_from_cert = yes\n"
                                "auth_verbose = yes\n")
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture(scope="module")
def guest_server():
    """auth_anonymous_username = guest, auth_ssl_username_from_cert = no."""
    s = new_server(mechanisms="plain anonymous external", users=EXT_USERS,
                   extra_global="auth_anonymous_username = guest\n")
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def conn(server):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        yield c


def run(c, mech, *params, resp=None, service="imap"):
    rid = c.auth(mech, *params, resp=resp, service=service)
    f = c.reply()
    assert f[1] == str(rid), f
    return rid, f


def test_handshake_flags(conn):
    assert conn.mechs["ANONYMOUS"] == ["anonymous"]
    assert conn.mechs["EXTERNAL"] == []
    assert conn.mechs["PLAIN"] == ["plaintext"]


def test_anonymous_transcript(server):
    # auth-client-protocol.md §9.8, byte for byte
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        c.send("AUTH\t11\tANONYMOUS\tservice=imap\tresp=dHJhY2VAZXhhbXBsZS5vcmc=\n")
        assert c.read_line() == "OK\t11\tuser=anonymous\tanonymous"


@pytest.mark.parametrize("trace", [b"", b"trace", b"a\0b\tc\x01d\ne\xff\xfe",
                                   b"x" * 256], ids=["empty", "token", "binary", "256"])
def test_anonymous_any_trace(conn, trace):
    _, f = run(conn, "ANONYMOUS", resp=b64(trace) if trace else "=")
    assert f[0] == "OK" and f[2:] == ["user=anonymous", "anonymous"], f


def test_anonymous_oversized_trace_is_bounded_in_log(server, conn, target):
    # accepted (Dovecot has no trace limit but the line length); roost logs
    # at most 255 bytes of it
    mark = server.log_mark()
    trace = b"y" * 12000
    _, f = run(conn, "ANONYMOUS", resp=b64(trace))
    assert f[0] == "OK" and f[2:] == ["user=anonymous", "anonymous"], f
    if target == "roost":
        line = server.wait_log(mark, r"ANONYMOUS: login \(trace: ")
        assert "... (12000 bytes)" in line and "y" * 256 not in line, line


def test_anonymous_challenge_then_trace(conn):
    rid, f = run(conn, "ANONYMOUS")
    assert f == ["CONT", str(rid), ""]
    conn.cont(rid, b64("someone@example.org"))
    assert conn.reply() == ["OK", str(rid), "user=anonymous", "anonymous"]


def test_plain_as_anonymous_user_is_flagged(conn):
    f = conn.plain("anonymous", "anonpw")
    assert f[0] == "OK" and f[2:] == ["user=anonymous", "anonymous"], f
    f = conn.plain("alice", "alicepw")
    assert f[0] == "OK" and "anonymous" not in f, f


def test_anonymous_username_setting(guest_server):
    with authproto.ClientConn(guest_server.client_socket) as c:
        c.handshake()
        _, f = run(c, "ANONYMOUS", resp=b64("anonymous"))
        assert f[0] == "OK" and f[2:] == ["user=guest", "anonymous"], f
        # "anonymous" is an ordinary user now
        f = c.plain("anonymous", "anonpw")
        assert f[0] == "OK" and f[2:] == ["user=anonymous"], f


def test_external_success(conn):
    # Dovecot 2.3 adds original_user= (empty: EXTERNAL itself gave no name)
    rid, f = run(conn, "EXTERNAL", *CERT, resp="=")
    assert f == ["OK", str(rid), "user=certuser", "original_user="]
    rid, f = run(conn, "EXTERNAL", *CERT, resp=b64("certuser"))
    assert f == ["OK", str(rid), "user=certuser", "original_user="]
    rid, f = run(conn, "EXTERNAL", *CERT)
    assert f == ["CONT", str(rid), ""]
    conn.cont(rid, "")
    assert conn.reply() == ["OK", str(rid), "user=certuser", "original_user="]


def test_external_authzid_mismatch(conn):
    rid, f = run(conn, "EXTERNAL", *CERT, resp=b64("alice"))
    assert f[:3] == ["FAIL", str(rid), "user=certuser"], f
    assert not any(x.startswith("code=") for x in f), f


def test_external_passdb_decides(conn):
    # unknown user
    rid, f = run(conn, "EXTERNAL", "valid-client-cert", "cert_username=nosuch",
                 resp="=")
    assert f[:3] == ["FAIL", str(rid), "user=nosuch"], f
    # the passdb verifies an empty password: a user with a password (no
    # nopassword field) can't log in by certificate
    rid, f = run(conn, "EXTERNAL", "valid-client-cert", "cert_username=alice",
                 resp="=")
    assert f[:3] == ["FAIL", str(rid), "user=alice"], f


@pytest.mark.parametrize("params", [("valid-client-cert",),
                                    ("valid-client-cert", "cert_username=")],
                         ids=["no-cert_username", "empty-cert_username"])
def test_external_username_not_known(conn, params):
    rid, f = run(conn, "EXTERNAL", *params, resp="=")
    assert f == ["FAIL", str(rid)]


def test_external_needs_username_from_cert(guest_server):
    with authproto.ClientConn(guest_server.client_socket) as c:
        c.handshake()
        rid, f = run(c, "EXTERNAL", *CERT, resp="=")
        assert f == ["FAIL", str(rid)]


def test_external_needs_valid_cert_flag(conn, target):
    rid, f = run(conn, "EXTERNAL", "cert_username=certuser", resp="=")
    if target == "dovecot":
        # Dovecot 2.3 trusts cert_username without the flag (unless
        # auth_ssl_require_client_cert); roost deliberately doesn't
        assert f == ["OK", str(rid), "user=certuser", "original_user="]
    else:
        assert f == ["FAIL", str(rid),
                     "reason=Client didn't present valid SSL certificate"]


def test_external_malformed(conn):
    # EXTERNAL allows no NUL (spec §5)
    rid, f = run(conn, "EXTERNAL", *CERT, resp=b64(b"cert\0user"))
    assert f[0] == "FAIL" and f[1] == str(rid), f
    rid, f = run(conn, "EXTERNAL", *CERT, resp="%%%")
    assert f[:3] == ["FAIL", str(rid), "code=invalid_base64"], f
    # the connection still works
    rid, f = run(conn, "EXTERNAL", *CERT, resp="=")
    assert f[0] == "OK", f
