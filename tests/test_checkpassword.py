"""passdb and userdb checkpassword end to end, with the test program
tests/checkpassword/checkpw.sh (its header says what each user does) and
roost's checkpassword-reply helper (Dovecot's, for the reference run).

Covered: success with extra fields, wrong password, unknown user, exit 111
(temporary failure), a program that writes fd 4 itself, exit 0 without a
reply, a program killed by a signal, a hanging program (roost: killed
after timeout=, children too, logged), the environment the program gets,
userdb lookups (AUTHORIZED=1, exit 2/3), and the event loop staying free
while programs run. The same tests run against Dovecot
(ROOST_TEST_TARGET=dovecot) except the roost-only parts (timeout=)."""
import os
import re
import shutil
import subprocess
import time

import pytest

import authproto
from conftest import AuthServer, proc_cmdline, roost_binary, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 3
HANG_MARK = "sleep 48.75"


def checkpassword_server(timeout=TIMEOUT):
    server = AuthServer(extra_global="auth_verbose = yes\n")
    program = os.path.join(server.dir, "checkpw.sh")
    shutil.copy(os.path.join(HERE, "checkpassword", "checkpw.sh"), program)
    os.chmod(program, 0o755)
    args = (f"timeout={timeout} {program}" if server.target == "roost" and timeout
            else program)
    text = server.config_text()
    text = re.sub(r"passdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  f"passdb {{\n  driver = checkpassword\n  args = {args}\n}}", text)
    text = re.sub(r"userdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  f"userdb {{\n  driver = checkpassword\n  args = {args}\n}}", text)
    assert text.count("driver = checkpassword") == 2
    server.write_config(text)
    return server


@pytest.fixture(scope="module")
def chk():
    server = checkpassword_server()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def plain(server, user, password, timeout=10.0):
    with authproto.ClientConn(server.client_socket, timeout=timeout) as c:
        c.handshake()
        return c.plain(user, password, "rip=192.0.2.7", timeout=timeout)


def user_lookup(server, user):
    with authproto.MasterConn(server.master_socket) as m:
        m.handshake()
        return m.user(user, "rip=192.0.2.8")


def test_success_with_extra_fields(chk):
    f = plain(chk, "alice", "alicepw")
    assert f[0] == "OK", f
    assert "user=alice" in f, f


def test_wrong_password(chk):
    mark = chk.log_mark()
    f = plain(chk, "alice", "nope")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    chk.wait_log(mark, r"checkpassword.*(status=1|Login failed)")


def test_unknown_user(chk):
    f = plain(chk, "nosuchuser", "x")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f


def test_exit_111_is_temporary(chk):
    mark = chk.log_mark()
    f = plain(chk, "tempfail", "x")
    assert f[0] == "FAIL", f
    assert "code=temp_fail" in f, f
    chk.wait_log(mark, r"exited with status 111")


def test_program_writes_fd4_itself(chk):
    f = plain(chk, "direct", "x")
    assert f[0] == "OK", f


def test_exit_0_without_reply_is_internal(chk):
    f = plain(chk, "nofields", "x")
    assert f[0] == "FAIL" and "code=temp_fail" in f, f


def test_killed_by_signal(chk):
    mark = chk.log_mark()
    f = plain(chk, "crash", "x")
    assert f[0] == "FAIL" and "code=temp_fail" in f, f
    chk.wait_log(mark, r"signal 11")


def hang_processes():
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit() and HANG_MARK in proc_cmdline(int(p)):
            found.append(int(p))
    return found


def test_hang_times_out_without_stalling(chk):
    conn = authproto.ClientConn(chk.client_socket, timeout=TIMEOUT + 10)
    try:
        conn.handshake()
        mark = chk.log_mark()
        rid = conn.auth("PLAIN", resp=authproto.plain_resp("hang", "x"))
        wait_for(hang_processes, 5, what="the hanging program to start")
        t0 = time.monotonic()
        for _ in range(5):
            assert plain(chk, "alice", "alicepw", timeout=5)[0] == "OK"
            assert plain(chk, "bob", "wrong", timeout=5)[0] == "FAIL"
        assert time.monotonic() - t0 < TIMEOUT, "other logins waited for the hung program"
        if chk.target != "roost":
            return     # Dovecot has no timeout for checkpassword
        f = conn.read_fields(TIMEOUT + 10)
        assert f[0] == "FAIL" and f[1] == str(rid) and "code=temp_fail" in f, f
        chk.wait_log(mark, rf"didn't finish in {TIMEOUT} secs: killing it")
        wait_for(lambda: not hang_processes(), 5,
                 what="the hung program's children to be killed")
    finally:
        conn.close()


def test_userdb_lookup(chk):
    f = user_lookup(chk, "alice")
    assert f[0] == "USER", f
    d = authproto.fields_dict(f[2:])
    assert d.get("home") == "/home/alice", f
    assert d.get("quota_rule") == "*:storage=1G", f
    assert "uid" in d and "gid" in d, f


def test_userdb_unknown(chk):
    f = user_lookup(chk, "nosuchuser")
    assert f[0] == "NOTFOUND", f


def test_userdb_direct_fd4(chk):
    f = user_lookup(chk, "direct")
    assert f[0] == "USER", f
    assert authproto.fields_dict(f[2:]).get("home") == "/srv/direct", f


def test_environment(chk):
    f = user_lookup(chk, "envcheck")
    assert f[0] == "USER", f
    d = authproto.fields_dict(f[2:])
    assert d.get("svc") == "doveadm", f
    assert d.get("rip") == "192.0.2.8", f
    assert d.get("authuser") == "envcheck", f
    assert d.get("authorized") == "1", f
    assert d.get("proto") == "TCP", f
    # the daemon's own HOME/USER don't reach the program as the user's
    assert "home" not in d and f[2] == "envcheck", f


def test_bad_args(roost_only):
    server = checkpassword_server()
    try:
        text = open(server.conf_path).read().replace("timeout=3", "timeout=never", 1)
        server.write_config(text)
        p = subprocess.run([roost_binary("roost-auth"), "-c", server.conf_path],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=10)
        out = p.stdout + p.stderr
        assert p.returncode != 0, out
        assert "Invalid timeout value: never" in out, out
        assert re.search(re.escape(server.conf_path) + r":\d+: passdb checkpassword", out), out
    finally:
        server.cleanup()
