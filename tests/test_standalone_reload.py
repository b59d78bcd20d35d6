"""roost-auth running alone (for MTAs, without roostd): SIGHUP re-reads the
configuration and re-executes with the same listening sockets (same PID,
no refused connection); a broken configuration is logged and the running
one stays."""
import os
import signal
import time

import pytest

import authproto
from conftest import AuthServer, check_serves, wait_for

pytestmark = pytest.mark.usefixtures("roost_only")


@pytest.fixture
def standalone():
    s = AuthServer(standalone=True, mechanisms="plain")
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def mechs(server):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        return set(c.mechs)


def test_sighup_reloads_with_same_sockets(standalone):
    s = standalone
    assert mechs(s) == {"PLAIN"}
    s.write_config(mechanisms="plain login cram-md5")
    os.kill(s.pid, signal.SIGHUP)
    wait_for(lambda: mechs(s) == {"PLAIN", "LOGIN", "CRAM-MD5"}, timeout=10,
             what="new mechanisms after SIGHUP")
    assert s.proc.poll() is None      # same process (execve keeps the PID)
    check_serves(s)
    assert "SIGHUP received - reloading configuration" in open(s.log_path).read()

    # a broken config: logged, the running configuration stays
    with open(s.conf_path, "a") as f:
        f.write("no_such_setting = 1\n")
    os.kill(s.pid, signal.SIGHUP)
    wait_for(lambda: "Not reloading" in open(s.log_path).read(), timeout=10,
             what="reload refusal in the log")
    assert "no_such_setting" in open(s.log_path).read()
    assert mechs(s) == {"PLAIN", "LOGIN", "CRAM-MD5"}
    check_serves(s)
    # sockets are still removed when it stops
    s.stop()
    assert not os.path.exists(s.client_socket)
