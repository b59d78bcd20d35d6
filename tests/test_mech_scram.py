"""SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677) on the auth client
protocol, with an independent client written here (hashlib/hmac).

Expected bytes are Dovecot 2.3's: run with ROOST_TEST_TARGET=dovecot to
check them against the reference server. The server nonce is random, so
proofs and signatures are computed from what the server sends.
"""
import base64
import hashlib
import hmac

import pytest

from authproto import ClientConn
from conftest import TARGET, USERS, new_server

# RFC 5802 / RFC 7677 example credentials (password "pencil")
SHA1_STORED = ("{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,"
               "6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=")
SHA256_STORED = ("{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
                 "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
                 "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
SHA1_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
SHA256_NONCE = "rOprNGfwEbeRWgbNEkqO"
HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}
MECHS = list(HASHES)

SCRAM_USERS = dict(USERS)
SCRAM_USERS.update({
    "u1": (SHA1_STORED, 1003, 1003, "/home/u1", ""),
    "u256": (SHA256_STORED, 1004, 1004, "/home/u256", ""),
})


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True).decode()


class ScramClient:
    """RFC 5802 section 3 client computations."""

    def __init__(self, mech, password):
        self.hname = HASHES[mech]
        self.password = password.encode()

    def keys(self, salt, iterations):
        salted = hashlib.pbkdf2_hmac(self.hname, self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.hname).digest()
        stored_key = hashlib.new(self.hname, client_key).digest()
        server_key = hmac.new(salted, b"Server Key", self.hname).digest()
        return client_key, stored_key, server_key

    def final(self, bare, server_first, noproof):
        """(proof_b64, expected server-final) for client-final-without-proof."""
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        client_key, stored_key, server_key = self.keys(salt, int(attrs["i"]))
        auth_message = f"{bare},{server_first},{noproof}".encode()
        sig = hmac.new(stored_key, auth_message, self.hname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_sig = hmac.new(server_key, auth_message, self.hname).digest()
        return b64(proof), "v=" + b64(server_sig)


def test_client_reproduces_rfc_vectors():
    """The client above is checked against the RFC examples themselves."""
    c = ScramClient("SCRAM-SHA-1", "pencil")
    sf = f"r={SHA1_NONCE}3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    proof, v = c.final(f"n=user,r={SHA1_NONCE}", sf,
                       f"c=biws,r={SHA1_NONCE}3rfcNHYJY1ZVvWVs7j")
    assert (proof, v) == ("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
    c = ScramClient("SCRAM-SHA-256", "pencil")
    sn = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    sf = f"r={SHA256_NONCE}{sn},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    proof, v = c.final(f"n=user,r={SHA256_NONCE}", sf, f"c=biws,r={SHA256_NONCE}{sn}")
    assert proof == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    assert v == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


@pytest.fixture(scope="module")
def server():
    s = new_server(mechanisms="plain scram-sha-1 scram-sha-256", users=SCRAM_USERS)
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def conn(server):
    c = ClientConn(server.client_socket)
    c.handshake()
    yield c
    c.close()


def strip_trailing_empty(fields):
    f = list(fields)
    while len(f) > 3 and f[-1] == "":
        f.pop()
    return f


def first(conn, mech, client_first, nonce, params=()):
    """Send client-first; check and return server-first."""
    rid = conn.auth(mech, *params, resp=b64(client_first), service="imap")
    f = conn.reply()
    assert f[:2] == ["CONT", str(rid)] and len(f) == 3, f
    sf = unb64(f[2])
    attrs = sf.split(",")
    assert len(attrs) == 3, sf
    assert attrs[0].startswith("r=" + nonce), sf
    snonce = attrs[0][2 + len(nonce):]
    # Dovecot: 64 printable characters, never ','
    assert len(snonce) == 64 and all(0x21 <= ord(ch) <= 0x7e for ch in snonce), sf
    assert attrs[1].startswith("s=") and attrs[2].startswith("i="), sf
    return rid, sf


def exchange(conn, mech, user, password, gs2="n,,", nonce="abcdefghijkl",
             final_resp_ok=False, salt=None):
    bare = f"n={user},r={nonce}"
    params = ("final-resp-ok",) if final_resp_ok else ()
    rid, sf = first(conn, mech, gs2 + bare, nonce, params)
    if salt is not None:
        assert sf.endswith(f",s={salt},i=4096"), sf
    noproof = f"c={b64(gs2)},{sf.split(',')[0]}"
    proof, v = ScramClient(mech, password).final(bare, sf, noproof)
    conn.cont(rid, b64(f"{noproof},p={proof}"))
    return rid, v, conn.reply()


def expect_ok(conn, rid, v, f, user, final_resp_ok):
    if final_resp_ok:
        assert strip_trailing_empty(f) == ["OK", str(rid), f"user={user}",
                                           f"resp={b64(v)}"], f
        return
    # spec 4.1: the server-final data in a CONT, an empty CONT, then OK
    assert f == ["CONT", str(rid), b64(v)], f
    conn.cont(rid, "")
    f = conn.reply()
    assert strip_trailing_empty(f) == ["OK", str(rid), f"user={user}"], f


def test_handshake_flags(conn):
    assert conn.mechs["SCRAM-SHA-1"] == ["mutual-auth"]
    assert conn.mechs["SCRAM-SHA-256"] == ["mutual-auth"]


@pytest.mark.parametrize("final_resp_ok", [False, True])
def test_rfc_credentials(conn, final_resp_ok):
    rid, v, f = exchange(conn, "SCRAM-SHA-1", "u1", "pencil", nonce=SHA1_NONCE,
                         final_resp_ok=final_resp_ok, salt="QSXCR+Q6sek8bf92")
    expect_ok(conn, rid, v, f, "u1", final_resp_ok)
    rid, v, f = exchange(conn, "SCRAM-SHA-256", "u256", "pencil", nonce=SHA256_NONCE,
                         final_resp_ok=final_resp_ok, salt="W22ZaJ0SNY7soEsUEjb6gQ==")
    expect_ok(conn, rid, v, f, "u256", final_resp_ok)


@pytest.mark.parametrize("mech", MECHS)
@pytest.mark.parametrize("final_resp_ok", [False, True])
def test_plaintext_stored(conn, mech, final_resp_ok):
    for user, password in (("alice", "alicepw"), ("bob", "bobpw")):
        rid, v, f = exchange(conn, mech, user, password, final_resp_ok=final_resp_ok)
        expect_ok(conn, rid, v, f, user, final_resp_ok)


@pytest.mark.parametrize("mech", MECHS)
def test_y_flag_and_same_authzid(conn, mech):
    rid, v, f = exchange(conn, mech, "alice", "alicepw", gs2="y,,")
    expect_ok(conn, rid, v, f, "alice", False)
    rid, v, f = exchange(conn, mech, "alice", "alicepw", gs2="n,a=alice,")
    expect_ok(conn, rid, v, f, "alice", False)


def test_no_initial_response(conn):
    rid = conn.auth("SCRAM-SHA-256", service="imap")
    assert conn.reply() == ["CONT", str(rid), ""]
    conn.cont(rid, b64("n,,n=alice,r=xyz"))
    f = conn.reply()
    assert f[:2] == ["CONT", str(rid)] and unb64(f[2]).startswith("r=xyz"), f


@pytest.mark.parametrize("mech", MECHS)
def test_wrong_password(conn, mech):
    rid, v, f = exchange(conn, mech, "alice", "alicepw2")
    assert strip_trailing_empty(f) == ["FAIL", str(rid), "user=alice"], f
    user = "u1" if mech == "SCRAM-SHA-1" else "u256"
    rid, v, f = exchange(conn, mech, user, "pencil2")
    assert strip_trailing_empty(f) == ["FAIL", str(rid), f"user={user}"], f


@pytest.mark.parametrize("mech,user", [("SCRAM-SHA-1", "u256"), ("SCRAM-SHA-256", "u1")])
def test_stored_scheme_mismatch(conn, mech, user):
    """Stored SCRAM credentials of the other hash cannot serve the mech."""
    rid = conn.auth(mech, resp=b64(f"n,,n={user},r=abc"), service="imap")
    assert strip_trailing_empty(conn.reply()) == ["FAIL", str(rid), f"user={user}"]


def test_authzid_other_user(conn):
    """Logging in as another user needs a master passdb."""
    rid = conn.auth("SCRAM-SHA-256", resp=b64("n,a=bob,n=alice,r=abc"), service="imap")
    f = strip_trailing_empty(conn.reply())
    # Dovecot (no master passdb): the login-user name is refused before any
    # lookup, no code; roost answers like its PLAIN: code=authz_fail
    expect = ["FAIL", str(rid), "user=alice"]
    if TARGET == "roost":
        expect.append("code=authz_fail")
    assert f == expect, f


@pytest.mark.parametrize("mech", MECHS)
def test_unknown_user(conn, mech):
    rid = conn.auth(mech, resp=b64("n,,n=nosuch,r=abc"), service="imap")
    assert strip_trailing_empty(conn.reply()) == ["FAIL", str(rid), "user=nosuch"]


# client-first messages Dovecot and roost both refuse at once (no user set)
BAD_FIRST = [
    "p=tls-unique,,n=alice,r=abc",      # channel binding required
    "x,,n=alice,r=abc",                 # bad gs2 flag
    "n,,m=ext,n=alice,r=abc",           # mandatory extension
    "n,,n=alice",                       # no nonce
    "n,,r=abc,n=alice",                 # wrong order
    "c=biws,r=abc,p=AAAA",              # a client-final as first message
    "n,,n=al=ice,r=abc",                # bad saslname escape
    "n,,n=alice=2c,r=abc",              # lower-case escape
    "",                                 # empty
]


@pytest.mark.parametrize("client_first", BAD_FIRST)
def test_bad_client_first(server, conn, client_first):
    rid = conn.auth("SCRAM-SHA-256", resp=b64(client_first), service="imap")
    f = strip_trailing_empty(conn.reply())
    assert f[:2] == ["FAIL", str(rid)], f
    assert f == ["FAIL", str(rid)], f


@pytest.mark.parametrize("case", ["wrong nonce", "y then biws", "n then y",
                                  "no proof", "bad proof base64",
                                  "client-first again"])
@pytest.mark.parametrize("mech", MECHS)
def test_bad_client_final(conn, mech, case):
    gs2 = "y,," if case == "y then biws" else "n,,"
    bare = "n=alice,r=abc"
    rid, sf = first(conn, mech, gs2 + bare, "abc")
    r = sf.split(",")[0]
    cbind = {"y then biws": "c=biws", "n then y": f"c={b64('y,,')}"}.get(
        case, f"c={b64(gs2)}")
    if case == "wrong nonce":
        r = "r=abc" + "x" * 64
    noproof = f"{cbind},{r}"
    proof, _ = ScramClient(mech, "alicepw").final(bare, sf, noproof)
    msg = {"no proof": noproof,
           "bad proof base64": f"{noproof},p=!!!!",
           "client-first again": gs2 + bare}.get(case, f"{noproof},p={proof}")
    conn.cont(rid, b64(msg))
    f = strip_trailing_empty(conn.reply())
    assert f == ["FAIL", str(rid), "user=alice"], f
