"""Resource bounds of roost-auth beyond the protocol tests: the service's
client_limit holds further connections in the listen backlog until one
closes (instead of costing memory), and they are served afterwards."""
import time

import pytest

import authproto
from conftest import AuthServer, check_serves

pytestmark = pytest.mark.usefixtures("roost_only")


@pytest.fixture
def limited_server():
    s = AuthServer(standalone=True)
    text = s.config_text().replace("service auth {\n", "service auth {\n  client_limit = 5\n", 1)
    s.write_config(text=text)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def test_client_limit_holds_new_connections_until_one_closes(limited_server):
    s = limited_server
    # the readiness probe's connection may still be closing: let it go
    time.sleep(0.3)
    conns = []
    try:
        for _ in range(5):
            c = authproto.ClientConn(s.client_socket)
            c.handshake()
            conns.append(c)
        waiting = authproto.ClientConn(s.client_socket)
        conns.append(waiting)
        # connected (backlog) but not served: no handshake arrives
        with pytest.raises(Exception):
            waiting.read_handshake(timeout=0.7)
        assert "client_limit (5) reached" in open(s.log_path).read()
        conns[0].close()
        # served once a slot frees (the pause re-checks every 100 ms)
        waiting.read_handshake(timeout=5)
        waiting.send("VERSION\t1\t2\nCPID\t4243\n")
        f = waiting.plain("alice", "alicepw")
        assert f[0] == "OK", f
    finally:
        for c in conns:
            c.close()
    time.sleep(0.3)
    check_serves(s)
