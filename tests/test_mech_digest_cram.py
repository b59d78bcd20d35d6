"""CRAM-MD5 (RFC 2195) and DIGEST-MD5 (RFC 2831) end to end.

The client side is written here from the RFCs with Python's hmac/hashlib
(independent of the server's C code) and checked against the RFC examples
first; then swaks (Perl Digest::HMAC / Authen::SASL) authenticates through
a private Postfix. Run with ROOST_TEST_TARGET=dovecot to check that every
assertion not marked roost-only holds for Dovecot 2.3 as well.
"""
import base64
import hashlib
import hmac
import os
import re
import shutil

import pytest

import authproto
from authproto import b64
from conftest import TARGET, new_server

RFC2195_SECRET = "tanstaaftanstaaf"
RFC2195_CHALLENGE = "<1896.697170952@postoffice.reston.mci.net>"
RFC2195_STORED = ("{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a3"
                  "54b21152711fb604ca3e035e7015116b")
RFC2831_STORED = "{DIGEST-MD5}eb5a750053e4d2c34aa84bbc9b0b6ee7"
SHA512_CRYPT = ("{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVaeahx54Y3GAMDRCjw."
                "oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN.")

USERS = {
    "alice": ("alicepw", 1001, 1001, "/home/alice", ""),
    "tim": (RFC2195_STORED, 1003, 1003, "/home/tim", ""),
    "carol@example.com": ("{PLAIN}carolpw", 1004, 1004, "/home/carol", ""),
    "chris@elwood.innosoft.com": (RFC2831_STORED, 1005, 1005, "/home/chris", ""),
    "sha": (SHA512_CRYPT, 1006, 1006, "/home/sha", ""),
    "sha@example.com": (SHA512_CRYPT, 1007, 1007, "/home/sha", ""),
}

roost_only = pytest.mark.skipif(TARGET != "roost",
                                reason="roost is stricter than Dovecot here")


# ------------------------------------------------------------- the client

def cram_digest(secret, challenge):
    return hmac.new(secret.encode(), challenge.encode(), "md5").hexdigest()


def digest_compute(user, realm, password, nonce, cnonce, nc, qop, uri,
                   authzid=None, a2_prefix="AUTHENTICATE:"):
    """RFC 2831 2.1.2.1 (md5-sess); a2_prefix ":" gives rspauth (2.1.3)."""
    ha1pre = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()
    a1 = ha1pre + f":{nonce}:{cnonce}".encode()
    if authzid is not None:
        a1 += f":{authzid}".encode()
    ha1 = hashlib.md5(a1).hexdigest()
    ha2 = hashlib.md5(f"{a2_prefix}{uri}".encode()).hexdigest()
    return hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode()).hexdigest()


def digest_response(user, realm, password, nonce, cnonce="OA6MHXh6VqTrRk",
                    nc="00000001", qop="auth", uri="imap/elwood"):
    resp = digest_compute(user, realm, password, nonce, cnonce, nc, qop, uri)
    text = f'username="{user}",'
    if realm:
        text += f'realm="{realm}",'
    text += (f'nonce="{nonce}",cnonce="{cnonce}",nc={nc},qop={qop},'
             f'digest-uri="{uri}",response={resp},charset=utf-8')
    rspauth = digest_compute(user, realm, password, nonce, cnonce, nc, qop, uri,
                             a2_prefix=":")
    return text, rspauth


def test_client_matches_rfc_vectors():
    assert cram_digest(RFC2195_SECRET, RFC2195_CHALLENGE) == \
        "b913a602c7eda7a495b4e6e7334d3890"
    args = ("chris", "elwood.innosoft.com", "secret")
    assert digest_compute(*args, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", "00000001",
                          "auth", "imap/elwood.innosoft.com") == \
        "d388dad90d4bbd760a152321f2143af7"
    assert digest_compute(*args, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", "00000001",
                          "auth", "imap/elwood.innosoft.com", a2_prefix=":") == \
        "ea40f60335c427b5527b84dbabcdfffd"
    assert digest_compute(*args, "OA9BSXrbuRhWay", "OA9BSuZWMSpW8m", "00000001",
                          "auth", "acap/elwood.innosoft.com") == \
        "6084c6db3fede7352c551284490fd0fc"


# ------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def auth_server():
    s = new_server(mechanisms="plain login cram-md5 digest-md5", users=USERS,
                   extra_global="auth_realms = example.com elwood.innosoft.com\n"
                                "auth_verbose = yes\n")
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def conn(auth_server):
    with authproto.ClientConn(auth_server.client_socket) as c:
        c.handshake()
        yield c


def decode(field):
    return base64.b64decode(field).decode()


def start(conn, mech, *params):
    rid = conn.auth(mech, *params, service="imap")
    f = conn.reply()
    assert f[0:2] == ["CONT", str(rid)], f
    return rid, decode(f[2])


def digest_start(conn, *params):
    rid, challenge = start(conn, "DIGEST-MD5", *params)
    m = re.search(r'nonce="([^"]*)"', challenge)
    assert m, challenge
    return rid, challenge, m.group(1)


# ------------------------------------------------------------- handshake

def test_handshake_flags(conn):
    assert conn.mechs["CRAM-MD5"] == ["dictionary", "active"]
    assert conn.mechs["DIGEST-MD5"] == ["dictionary", "active", "mutual-auth"]


# ------------------------------------------------------------- CRAM-MD5

def test_cram_challenge_format(conn):
    _, c1 = start(conn, "CRAM-MD5")
    _, c2 = start(conn, "CRAM-MD5")
    for c in (c1, c2):
        assert re.fullmatch(r"<\d{16}\.\d{10,}@[^<>@]+>", c), c
    assert c1 != c2


@pytest.mark.parametrize("user,secret", [("tim", RFC2195_SECRET), ("alice", "alicepw")])
def test_cram_ok(conn, user, secret):
    rid, challenge = start(conn, "CRAM-MD5")
    conn.cont(rid, b64(f"{user} {cram_digest(secret, challenge)}"))
    assert conn.reply() == ["OK", str(rid), f"user={user}"]


@pytest.mark.parametrize("user,secret", [("tim", "wrong"), ("alice", "alicepW"),
                                         ("nosuch", "x")])
def test_cram_fail(conn, user, secret):
    rid, challenge = start(conn, "CRAM-MD5")
    conn.cont(rid, b64(f"{user} {cram_digest(secret, challenge)}"))
    assert conn.reply() == ["FAIL", str(rid), f"user={user}"]


def test_cram_upper_case_digest_fails(conn):
    rid, challenge = start(conn, "CRAM-MD5")
    conn.cont(rid, b64(f"tim {cram_digest(RFC2195_SECRET, challenge).upper()}"))
    assert conn.reply() == ["FAIL", str(rid), "user=tim"]


def test_cram_replayed_response_fails(conn):
    rid, challenge = start(conn, "CRAM-MD5")
    answer = b64(f"tim {cram_digest(RFC2195_SECRET, challenge)}")
    conn.cont(rid, answer)
    assert conn.reply()[0] == "OK"
    rid2, _ = start(conn, "CRAM-MD5")
    conn.cont(rid2, answer)
    assert conn.reply() == ["FAIL", str(rid2), "user=tim"]


@pytest.mark.parametrize("answer", ["", "timb913a602c7eda7a495b4e6e7334d3890",
                                    " b913a602c7eda7a495b4e6e7334d3890"])
def test_cram_malformed(conn, answer):
    rid, _ = start(conn, "CRAM-MD5")
    conn.cont(rid, b64(answer))
    assert conn.reply() == ["FAIL", str(rid)]


def test_cram_scheme_not_available(auth_server, conn):
    mark = auth_server.log_mark()
    rid, challenge = start(conn, "CRAM-MD5")
    conn.cont(rid, b64(f"sha {cram_digest('password', challenge)}"))
    assert conn.reply() == ["FAIL", str(rid), "user=sha"]
    line = auth_server.wait_log(mark, r"Requested CRAM-MD5 scheme, but we have only "
                                      r"SHA512-CRYPT")
    if TARGET == "roost":
        assert "(user sha, mechanism CRAM-MD5)" in line, line


# ------------------------------------------------------------- DIGEST-MD5

def test_digest_challenge(conn):
    _, challenge, nonce = digest_start(conn)
    assert challenge == ('realm="example.com",realm="elwood.innosoft.com",'
                         f'nonce="{nonce}",qop="auth",charset="utf-8",'
                         'algorithm="md5-sess"')
    assert len(base64.b64decode(nonce, validate=True)) == 16


@pytest.mark.parametrize("user,realm,password,final", [
    ("chris", "elwood.innosoft.com", "secret", "chris@elwood.innosoft.com"),
    ("carol", "example.com", "carolpw", "carol@example.com"),
    ("alice", "", "alicepw", "alice"),
])
def test_digest_ok(conn, user, realm, password, final):
    rid, _, nonce = digest_start(conn)
    text, rspauth = digest_response(user, realm, password, nonce)
    conn.cont(rid, b64(text))
    f = conn.reply()
    assert f == ["CONT", str(rid), b64(f"rspauth={rspauth}")], f
    conn.cont(rid, "")
    assert conn.reply() == ["OK", str(rid), f"user={final}"]


def test_digest_final_resp_ok(conn):
    rid, _, nonce = digest_start(conn, "final-resp-ok")
    text, rspauth = digest_response("carol", "example.com", "carolpw", nonce)
    conn.cont(rid, b64(text))
    assert conn.reply() == ["OK", str(rid), "user=carol@example.com",
                            "resp=" + b64(f"rspauth={rspauth}")]


@pytest.mark.parametrize("user,password", [("carol", "wrong"), ("nosuch", "x")])
def test_digest_fail(conn, user, password):
    rid, _, nonce = digest_start(conn)
    text, _ = digest_response(user, "example.com", password, nonce)
    conn.cont(rid, b64(text))
    assert conn.reply() == ["FAIL", str(rid), f"user={user}@example.com"]


def test_digest_replay_and_foreign_nonce(conn):
    rid, _, nonce = digest_start(conn)
    text, _ = digest_response("carol", "example.com", "carolpw", nonce)
    conn.cont(rid, b64(text))
    assert conn.reply()[0] == "CONT"
    conn.cont(rid, "")
    assert conn.reply()[0] == "OK"
    # the same response again, in a new request: its nonce is not ours
    rid2, _, _ = digest_start(conn)
    conn.cont(rid2, b64(text))
    assert conn.reply() == ["FAIL", str(rid2)]


@pytest.mark.parametrize("change", [
    ("qop=auth,", "qop=auth-int,"),
    ("qop=auth,", "qop=auth-conf,"),
    ("nc=00000001", "nc=00000002"),
    ("username=", 'username="x",username='),
    ("cnonce=", 'cnonce="x",cnonce='),
    ("charset=utf-8", "charset=iso-8859-1"),
    ("digest-uri=\"imap/elwood\"", "digest-uri=\"imap\""),
])
def test_digest_rejected(conn, change):
    rid, _, nonce = digest_start(conn)
    text, _ = digest_response("carol", "example.com", "carolpw", nonce)
    assert change[0] in text
    conn.cont(rid, b64(text.replace(change[0], change[1], 1)))
    assert conn.reply() == ["FAIL", str(rid)]


@roost_only
@pytest.mark.parametrize("change", [
    # Dovecot takes the first realm, defaults nc/digest-uri and accepts nc=1
    ('realm="example.com",', 'realm="example.com",realm="example.com",'),
    (",nc=00000001", ""),
    (",digest-uri=\"imap/elwood\"", ""),
    ("nc=00000001", "nc=1"),
    # Dovecot fails it too, but after the passdb lookup (with user=)
    ("response=", "response=X"),
])
def test_digest_rejected_strict(auth_server, conn, change):
    rid, _, nonce = digest_start(conn)
    text, _ = digest_response("carol", "example.com", "carolpw", nonce)
    assert change[0] in text
    if change[1] == "response=X":
        # the right response in upper case (RFC 2831: 32LHEX)
        m = re.search(r"response=([0-9a-f]{32})", text)
        change = (m.group(0), "response=" + m.group(1).upper())
    conn.cont(rid, b64(text.replace(change[0], change[1], 1)))
    assert conn.reply() == ["FAIL", str(rid)]


@roost_only
def test_digest_oversized_logged(auth_server, conn):
    mark = auth_server.log_mark()
    rid, _, nonce = digest_start(conn)
    conn.cont(rid, b64('username="' + "a" * 5000 + '"'))
    assert conn.reply() == ["FAIL", str(rid)]
    auth_server.wait_log(mark, r"DIGEST-MD5: response too long \(5011 > 4096 bytes\)")


def test_digest_scheme_not_available(auth_server, conn):
    mark = auth_server.log_mark()
    rid, _, nonce = digest_start(conn)
    text, _ = digest_response("sha", "example.com", "password", nonce)
    conn.cont(rid, b64(text))
    assert conn.reply() == ["FAIL", str(rid), "user=sha@example.com"]
    line = auth_server.wait_log(mark, r"Requested DIGEST-MD5 scheme, but we have only "
                                      r"SHA512-CRYPT")
    if TARGET == "roost":
        assert "(user sha@example.com, mechanism DIGEST-MD5)" in line, line


# ------------------------------------------------------------- swaks + Postfix

def _perl_has(*modules):
    import subprocess
    r = subprocess.run(["perl", *[f"-M{m}" for m in modules], "-e", "1"],
                       capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="module")
def postfix(auth_server):
    from test_postfix import Postfix, POSTFIX_MASTER
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root")
    for tool in ("postconf", "swaks", POSTFIX_MASTER):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not installed (scripts/install-deps.sh --test)")
    if not _perl_has("Authen::SASL", "Digest::HMAC_MD5"):
        pytest.fail("swaks needs Authen::SASL and Digest::HMAC_MD5 "
                    "(scripts/install-deps.sh --test)")
    pf = Postfix(auth_server)
    try:
        pf.start()
        yield pf
    finally:
        pf.cleanup()


@pytest.mark.parametrize("mech,user,password", [
    ("CRAM-MD5", "tim", RFC2195_SECRET),
    ("CRAM-MD5", "alice", "alicepw"),
    ("DIGEST-MD5", "carol", "carolpw"),
])
def test_swaks_ok(postfix, mech, user, password):
    from test_postfix import swaks, assert_reply, auth_args
    out = swaks(postfix.ports["unix"], *auth_args(mech, user, password),
                "--quit-after", "AUTH")
    assert_reply(out, r"^235 ")


@pytest.mark.parametrize("mech,user", [("CRAM-MD5", "tim"), ("DIGEST-MD5", "carol")])
def test_swaks_wrong_password(postfix, mech, user):
    from test_postfix import swaks, assert_reply, auth_args
    out = swaks(postfix.ports["unix"], *auth_args(mech, user, "wrong"),
                "--quit-after", "AUTH")
    assert_reply(out, r"^535 5\.7\.8 Error: authentication failed")
