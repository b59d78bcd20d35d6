"""Per remote IP failure penalty on the wire (spec/auth-cache.md section 2):
after a credential failure from an IP, the next AUTH from that IP starts
only after min(2 * 2^level, 15) s (level 1: 4 s); a success resets it;
no-penalty, other IPs and the Dovecot way of turning it off
(anvil-auth-penalty listener with mode 0) are not delayed.

The conftest servers run with the penalty off; the server here has it on.
auth_failure_delay is 0, so every delay measured is the penalty's."""
import time

import pytest

import authproto
from conftest import AuthServer

pytestmark = pytest.mark.usefixtures("roost_only")

PENALTY_OFF = ("service anvil {\n"
               "  unix_listener anvil-auth-penalty {\n"
               "    mode = 0\n"
               "  }\n"
               "}\n")

RIP = "rip=192.0.2.50"


@pytest.fixture(scope="module")
def penalty_server():
    s = AuthServer(standalone=True)
    text = s.config_text()
    assert PENALTY_OFF in text
    s.write_config(text=text.replace(PENALTY_OFF, ""))
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def timed_plain(c, user, password, *params, timeout=10.0):
    start = time.monotonic()
    f = c.plain(user, password, *params, timeout=timeout)
    return f, time.monotonic() - start


def test_failure_delays_next_auth_from_ip(penalty_server):
    with authproto.ClientConn(penalty_server.client_socket) as c:
        c.handshake()
        f, secs = timed_plain(c, "alice", "wrong", "lip=192.0.2.1", RIP)
        assert f[0] == "FAIL" and secs < 1.0, (f, secs)

        # level 1: the mechanism starts 4 s later (housekeeping: +0.5 s)
        f, secs = timed_plain(c, "alice", "alicepw", "lip=192.0.2.1", RIP)
        assert f[0] == "OK", f
        assert 3.5 <= secs < 5.5, f"second AUTH answered after {secs:.2f} s"

        # the success reset the penalty
        f, secs = timed_plain(c, "alice", "alicepw", "lip=192.0.2.1", RIP)
        assert f[0] == "OK" and secs < 1.0, (f, secs)


def test_no_penalty_and_other_ips_not_delayed(penalty_server):
    with authproto.ClientConn(penalty_server.client_socket) as c:
        c.handshake()
        f, secs = timed_plain(c, "bob", "wrong", "rip=192.0.2.51")
        assert f[0] == "FAIL" and secs < 1.0, (f, secs)
        # trusted client (webmail) marks its requests no-penalty
        f, secs = timed_plain(c, "bob", "bobpw", "rip=192.0.2.51", "no-penalty")
        assert f[0] == "OK" and secs < 1.0, (f, secs)
        # another IP, and a request without rip
        f, secs = timed_plain(c, "bob", "bobpw", "rip=192.0.2.52")
        assert f[0] == "OK" and secs < 1.0, (f, secs)
        f, secs = timed_plain(c, "bob", "bobpw")
        assert f[0] == "OK" and secs < 1.0, (f, secs)


def test_penalty_off_with_anvil_listener_mode_0(auth_server):
    # the conftest config turns it off the way Dovecot's does
    with authproto.ClientConn(auth_server.client_socket) as c:
        c.handshake()
        for password in ("wrong", "wrong2", "alicepw"):
            f, secs = timed_plain(c, "alice", password, "rip=192.0.2.60")
            assert secs < 1.0, (password, f, secs)
        assert f[0] == "OK", f
