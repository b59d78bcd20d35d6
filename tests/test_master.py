"""roostd, the master process: restarts a killed roost-auth, reloads on
SIGHUP, stops everything on SIGTERM, refuses a second instance on the same
base_dir; roost-auth also runs alone. (roost-only: Dovecot's master is not
under test, so these skip for ROOST_TEST_TARGET=dovecot.)
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import authproto
from conftest import (AuthServer, check_serves, descendants, new_server, pid_alive,
                      proc_cmdline, roost_binary, stop_pid, wait_for)

pytestmark = pytest.mark.usefixtures("roost_only")


@pytest.fixture
def roostd():
    s = new_server(target="roost")
    try:
        yield s
    finally:
        s.cleanup()


def handshake(server, timeout=5):
    with authproto.ClientConn(server.client_socket, timeout) as c:
        c.handshake()
        return c


def test_auth_child_runs_under_roostd(roostd):
    spid = roostd.auth_pid()
    assert spid != roostd.pid
    assert spid in descendants(roostd.pid)
    assert "roost-auth" in proc_cmdline(spid), proc_cmdline(spid)


def test_killed_auth_child_is_restarted_within_1s(roostd):
    old = roostd.auth_pid()
    os.kill(old, signal.SIGKILL)
    t0 = time.monotonic()

    def new_child_serves():
        with authproto.ClientConn(roostd.client_socket, timeout=1) as c:
            c.handshake(timeout=1)
            if c.spid == old:
                return False
            f = c.plain("alice", "alicepw", timeout=1)
            return f[0] == "OK" and c.spid
    new = wait_for(new_child_serves, 1.0, interval=0.02,
                   what="a new roost-auth serving the client socket")
    assert time.monotonic() - t0 <= 1.0
    assert new != old and pid_alive(roostd.pid)
    # the other sockets are served by the new child too
    with authproto.MasterConn(roostd.userdb_socket, timeout=2) as m:
        m.handshake()
        assert m.spid == new
        assert m.user("alice")[:3] == ["USER", "1", "alice"]


def test_master_logs_how_auth_child_died(roostd):
    old = roostd.auth_pid()
    mark = roostd.log_mark()
    os.kill(old, signal.SIGKILL)
    line = roostd.wait_log(mark, rf"\b{old}\b.*(signal 9|SIGKILL)|(signal 9|SIGKILL).*\b{old}\b")
    assert re.search(r"killed|signal", line, re.I), line
    wait_for(lambda: handshake(roostd).spid != old, 5, what="restarted roost-auth")


def test_auth_child_crash_loop_does_not_kill_master(roostd):
    """Killing the child several times in a row: roostd keeps restarting it."""
    for _ in range(3):
        old = roostd.auth_pid()
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: handshake(roostd, 2).spid != old, 10,
                 what="restarted roost-auth")
    assert pid_alive(roostd.pid)
    check_serves(roostd)


def test_sighup_applies_changed_config(roostd):
    with authproto.ClientConn(roostd.client_socket) as c:
        c.handshake()
        assert list(c.mechs) == ["PLAIN", "LOGIN"]
    users2 = os.path.join(roostd.dir, "users2")
    roostd.write_users({"carol": ("carolpw", 1003, 1003, "/home/carol", "")}, users2)
    roostd.write_config(mechanisms="plain", users_path=users2)
    mark = roostd.log_mark()
    roostd.reload()

    def reloaded():
        with authproto.ClientConn(roostd.client_socket, timeout=2) as c:
            c.handshake(timeout=2)
            return list(c.mechs) == ["PLAIN"]
    wait_for(reloaded, 10, what="auth_mechanisms = plain after SIGHUP")
    assert pid_alive(roostd.pid), "roostd died on SIGHUP"
    f = authproto.plain_auth_ok(roostd.client_socket, "carol", "carolpw")
    assert f[:3] == ["OK", "1", "user=carol"], f
    f = authproto.plain_auth_ok(roostd.client_socket, "alice", "alicepw")
    assert f[0] == "FAIL", f"old passdb still used after reload: {f}"
    assert roostd.log_since(mark).strip(), "nothing logged about the reload"


def test_sighup_with_broken_config_keeps_serving(roostd):
    good = open(roostd.conf_path).read()
    roostd.write_config(good + "frobnicate_widgets = yes\n")
    mark = roostd.log_mark()
    roostd.reload()
    roostd.wait_log(mark, r"frobnicate_widgets|auth\.conf:\d+")
    assert pid_alive(roostd.pid), "roostd died on SIGHUP with a broken config"
    check_serves(roostd)
    with authproto.ClientConn(roostd.client_socket) as c:
        c.handshake()
        assert list(c.mechs) == ["PLAIN", "LOGIN"], "old config must stay in force"


def test_sigterm_stops_everything(roostd):
    children = descendants(roostd.pid)
    assert children, "roostd has no children"
    proc = roostd.proc
    os.kill(roostd.pid, signal.SIGTERM)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("roostd still running 10 s after SIGTERM")
    assert rc == 0, f"roostd exit status {rc} after SIGTERM"
    wait_for(lambda: not any(pid_alive(p) for p in children), 5,
             what=f"children {children} gone after SIGTERM")
    with pytest.raises(OSError):
        authproto.connect(roostd.client_socket, timeout=2).close()
    with pytest.raises(OSError):
        socket.create_connection(roostd.inet_addr, timeout=2).close()
    roostd.proc = None


def test_second_instance_same_base_dir_refused(roostd):
    spid = roostd.auth_pid()
    p = subprocess.Popen([roost_binary("roostd"), "-F", "-c", roostd.conf_path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        stop_pid(p.pid, p)
        out, err = p.communicate()
        pytest.fail(f"second roostd on the same base_dir kept running\n{err}")
    assert p.returncode != 0, f"second roostd exited 0\n{out}{err}"
    assert re.search(r"already running|running|base_dir|in use", err, re.I), (
        f"unclear refusal message: {err!r}")
    assert str(roostd.pid) in err or roostd.base_dir in err, (
        f"message should name the running pid or base_dir: {err!r}")
    # the first instance is untouched
    assert roostd.auth_pid() == spid
    check_serves(roostd)
    with authproto.MasterConn(roostd.userdb_socket) as m:
        m.handshake()
        assert m.user("bob")[:3] == ["USER", "1", "bob"]


def test_roost_auth_standalone(tmp_path):
    s = AuthServer(target="roost", standalone=True)
    try:
        s.start()
        assert s.auth_pid() == s.pid, "standalone roost-auth must serve itself"
        check_serves(s)
        with authproto.MasterConn(s.userdb_socket) as m:
            m.handshake()
            assert m.user("alice")[:3] == ["USER", "1", "alice"]
        with authproto.ClientConn(s.inet_addr) as c:
            c.handshake()
            assert c.plain("bob", "bobpw")[:3] == ["OK", "1", "user=bob"]
        proc = s.proc
        os.kill(s.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        s.proc = None
    finally:
        s.cleanup()


@pytest.mark.parametrize("flag", ["-n", "-a"])
def test_print_settings(roostd, flag):
    r = subprocess.run([roost_binary("roostd"), flag, "-c", roostd.conf_path],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^auth_mechanisms = plain login$", r.stdout, re.M), r.stdout
    assert re.search(rf"^base_dir = {re.escape(roostd.base_dir)}$", r.stdout, re.M), r.stdout
    has_default = re.search(r"^auth_cache_ttl = ", r.stdout, re.M)
    if flag == "-a":
        assert has_default, "-a must print default settings too"
    else:
        assert not has_default, "-n must print only changed settings"
