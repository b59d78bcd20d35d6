"""SCRAM-SHA-1 / SCRAM-SHA-256 through a real Postfix smtpd
(smtpd_sasl_type = dovecot) against the server under test.

swaks cannot do SCRAM, so the SMTP client is Python's smtplib with a
multi-step authobject around the RFC 5802 client computations of
test_mech_scram.py (ScramClient). The client checks the server signature:
every successful exchange must have delivered a `v=` that matches, and a
user whose stored ServerKey is wrong (StoredKey right, so the proof is
accepted) makes the client abort on the bad `v=`.

Postfix is the private instance of test_postfix.py (its Postfix class and
fixtures are imported), with unix-socket and inet listeners.
Runs against Dovecot too (ROOST_TEST_TARGET=dovecot).
"""
import base64
import hashlib
import hmac
import re
import secrets
import smtplib

import pytest

from conftest import USERS, new_server, wait_for
from test_mech_scram import SHA1_STORED, SHA256_STORED, ScramClient, b64
from test_postfix import Postfix, port, postfix  # noqa: F401 - fixtures


def scram_stored(hname, password, salt, iterations=4096, server_key=None):
    """{SCRAM-SHA-*} credentials; server_key overrides the real ServerKey."""
    mech = {"sha1": "SCRAM-SHA-1", "sha256": "SCRAM-SHA-256"}[hname]
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hname).digest()
    stored_key = hashlib.new(hname, client_key).digest()
    if server_key is None:
        server_key = hmac.new(salted, b"Server Key", hname).digest()
    return (f"{{{mech}}}{iterations},{b64(salt)},{b64(stored_key)},"
            f"{b64(server_key)}")


def test_stored_helper_matches_rfc():
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    assert scram_stored("sha256", "pencil", salt) == SHA256_STORED
    salt = base64.b64decode("QSXCR+Q6sek8bf92")
    assert scram_stored("sha1", "pencil", salt) == SHA1_STORED


# StoredKey of "pencil", ServerKey of something else: the proof is valid, the
# server's v= is not what the client expects
BADSIG_SALT = b"roost-badsig-salt"
SCRAM_USERS = dict(USERS)     # alice:alicepw, bob:{PLAIN}bobpw
SCRAM_USERS.update({
    "u1": (SHA1_STORED, 1003, 1003, "/home/u1", ""),
    "u256": (SHA256_STORED, 1004, 1004, "/home/u256", ""),
    "badsig1": (scram_stored("sha1", "pencil", BADSIG_SALT,
                             server_key=hashlib.sha1(b"not it").digest()),
                1005, 1005, "/home/badsig", ""),
    "badsig256": (scram_stored("sha256", "pencil", BADSIG_SALT,
                               server_key=hashlib.sha256(b"not it").digest()),
                  1006, 1006, "/home/badsig", ""),
})
MECHS = ["SCRAM-SHA-1", "SCRAM-SHA-256"]
STORED_USER = {"SCRAM-SHA-1": "u1", "SCRAM-SHA-256": "u256"}
BADSIG_USER = {"SCRAM-SHA-1": "badsig1", "SCRAM-SHA-256": "badsig256"}


@pytest.fixture(scope="module")
def auth_server():
    """Overrides conftest's: the server under test with SCRAM enabled (the
    imported postfix fixture connects to this one)."""
    s = new_server(mechanisms="plain login scram-sha-1 scram-sha-256",
                   users=SCRAM_USERS)
    try:
        yield s
    finally:
        s.cleanup()


class ServerSignatureMismatch(Exception):
    pass


class ScramAuth:
    """smtplib authobject: client-first, client-final, then the check of
    server-final. Records what it saw."""

    def __init__(self, mech, user, password):
        self.mech = mech
        self.scram = ScramClient(mech, password)
        self.nonce = secrets.token_urlsafe(18)
        self.bare = f"n={user},r={self.nonce}"
        self.step = 0
        self.server_first = None
        self.expected_v = None
        self.server_final = None
        self.verified = False

    def __call__(self, challenge=None):
        if self.step == 0:
            if challenge:           # no initial response: 334 with empty data
                raise AssertionError(f"unexpected first challenge {challenge!r}")
            self.step = 1
            return "n,," + self.bare
        if self.step == 1:
            sf = challenge.decode()
            self.server_first = sf
            attrs = dict(a.split("=", 1) for a in sf.split(","))
            assert attrs["r"].startswith(self.nonce) and len(attrs["r"]) > len(
                self.nonce), f"server-first nonce does not extend ours: {sf!r}"
            noproof = f"c=biws,r={attrs['r']}"
            proof, self.expected_v = self.scram.final(self.bare, sf, noproof)
            self.step = 2
            return f"{noproof},p={proof}"
        if self.step == 2:
            self.server_final = challenge.decode()
            self.step = 3
            if not hmac.compare_digest(self.server_final, self.expected_v):
                raise ServerSignatureMismatch(
                    f"server-final {self.server_final!r}, expected {self.expected_v!r}")
            self.verified = True
            return ""
        raise AssertionError(f"challenge after server-final: {challenge!r}")


def smtp(port, timeout=30):
    s = smtplib.SMTP("127.0.0.1", port, timeout=timeout)
    s.ehlo("client.example.test")
    return s


def scram_login(port, mech, user, password, initial_response=True):
    """Returns (smtplib reply or SMTPAuthenticationError, authobject, SMTP)."""
    s = smtp(port)
    a = ScramAuth(mech, user, password)
    try:
        reply = s.auth(mech, a, initial_response_ok=initial_response)
    except smtplib.SMTPAuthenticationError as e:
        reply = e
    return reply, a, s


def test_ehlo_advertises_scram(port):
    with smtp(port) as s:
        mechs = s.esmtp_features.get("auth", "").split()
    assert {"PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256"} <= set(mechs), mechs


@pytest.mark.parametrize("mech", MECHS)
@pytest.mark.parametrize("who", ["plaintext-stored", "scram-stored"])
def test_scram_ok(port, mech, who):
    user, password = (("alice", "alicepw") if who == "plaintext-stored"
                      else (STORED_USER[mech], "pencil"))
    reply, a, s = scram_login(port, mech, user, password)
    with s:
        assert not isinstance(reply, Exception), f"{reply!r}, client saw {vars(a)}"
        assert reply[0] == 235 and reply[1].startswith(b"2.7.0 Authentication successful")
        # the server signature came as its own 334 and the client checked it
        assert a.step == 3 and a.verified and a.server_final == a.expected_v, vars(a)


@pytest.mark.parametrize("mech", MECHS)
def test_scram_no_initial_response(port, mech):
    reply, a, s = scram_login(port, mech, "bob", "bobpw", initial_response=False)
    with s:
        assert not isinstance(reply, Exception), f"{reply!r}, client saw {vars(a)}"
        assert reply[0] == 235 and a.verified, vars(a)


@pytest.mark.parametrize("mech", MECHS)
def test_scram_relay_and_log(port, postfix, mech):
    """Authenticated relay works and Postfix logs the SCRAM login."""
    reply, a, s = scram_login(port, mech, "bob", "bobpw")
    with s:
        assert reply[0] == 235 and a.verified, (reply, vars(a))
        assert s.mail("bob@example.test")[0] == 250
        code, text = s.rcpt("someone@example.net")
        assert code == 250 and text.startswith(b"2.1.5"), (code, text)
    wait_for(lambda: re.search(rf"sasl_method={mech}, sasl_username=bob\b",
                               postfix.log()), 10,
             what=f"postfix log line with sasl_method={mech}, sasl_username=bob")


@pytest.mark.parametrize("mech", MECHS)
@pytest.mark.parametrize("who", ["plaintext-stored", "scram-stored"])
def test_scram_wrong_password_535(port, mech, who):
    user = "alice" if who == "plaintext-stored" else STORED_USER[mech]
    reply, a, s = scram_login(port, mech, user, "wrong-password")
    with s:
        assert isinstance(reply, smtplib.SMTPAuthenticationError), (reply, vars(a))
        assert reply.smtp_code == 535 and reply.smtp_error.startswith(
            b"5.7.8 Error: authentication failed"), reply
        # rejected after the proof: no server signature was sent
        assert a.step == 2 and a.server_final is None, vars(a)


@pytest.mark.parametrize("mech", MECHS)
def test_scram_unknown_user_535(port, mech):
    reply, a, s = scram_login(port, mech, "nosuch", "whatever")
    with s:
        assert isinstance(reply, smtplib.SMTPAuthenticationError), (reply, vars(a))
        assert reply.smtp_code == 535, reply


@pytest.mark.parametrize("mech", MECHS)
def test_scram_client_rejects_bad_server_signature(port, postfix, mech):
    """Stored StoredKey matches "pencil" but ServerKey does not: the server
    accepts the proof and sends a v= the client must refuse. The client
    aborts (raises inside smtplib, then sends "*") instead of finishing the
    login: Postfix answers 501, not 235."""
    user = BADSIG_USER[mech]
    s = smtp(port)
    a = ScramAuth(mech, user, "pencil")
    with s:
        with pytest.raises(ServerSignatureMismatch):
            s.auth(mech, a)
        assert a.step == 3 and a.server_final.startswith("v="), vars(a)
        assert a.server_final != a.expected_v and not a.verified
        # RFC 4954 4: the client cancels with "*" (smtplib cannot send that
        # from an authobject, so it goes out by hand)
        code, text = s.docmd("*")
        assert code == 501 and text.startswith(b"5.7.0 Authentication aborted"), \
            (code, text)
    # control: a correct v= with the same code path
    reply, a2, s2 = scram_login(port, mech, STORED_USER[mech], "pencil")
    with s2:
        assert reply[0] == 235 and a2.verified
