"""roostadm auth test / auth lookup / user (admin/cmd-auth.c).

Two kinds of checks:
- against the server under test (conftest's auth_server: Dovecot with
  ROOST_TEST_TARGET=dovecot, roost by default): roostadm's stdout and exit
  code must equal doveadm's, byte for byte, for the same command line;
- against a scripted fake server in this process: what roostadm sends, and
  how it handles replies a good server rarely gives (escaped values,
  disconnects, wrong ids, wrong socket type, protocol version 2).

roostadm comes from ROOST_BUILD_DIR (default: the repo root). With the
dovecot target the tests skip when it is not built; with the roost target a
missing binary fails them.
"""
import os
import pty
import select
import socket
import subprocess
import tempfile
import threading

import pytest

from conftest import TARGET, roost_binary, roost_binary_or_none

EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_NOPERM = 77


@pytest.fixture(scope="module")
def roostadm():
    if TARGET == "roost":
        return roost_binary("roostadm")
    path = roost_binary_or_none("roostadm")
    if path is None:
        pytest.skip("roostadm not built (target is dovecot)")
    return path


@pytest.fixture(scope="module")
def doveadm_conf(auth_server):
    path = os.path.join(auth_server.dir, "doveadm-cmp.conf")
    with open(path, "w") as f:
        f.write(f"base_dir = {auth_server.dir}/doveadm-run\n")
    return path


def run(cmd, stdin_data=None):
    return subprocess.run(cmd, capture_output=True, timeout=60,
                          input=stdin_data if stdin_data is not None else b"")


def explain(r):
    return (f"$ {' '.join(r.args)}\nexit {r.returncode}\nstdout: {r.stdout!r}\n"
            f"stderr: {r.stderr!r}")


# ------------------------------------------------ same output as doveadm

CASES = [
    ("client", ["auth", "test", "-a", "{client}", "alice", "alicepw"]),
    ("client", ["auth", "test", "-a", "{client}", "alice", "wrong"]),
    ("client", ["auth", "test", "-a", "{client}", "nosuch", "x"]),
    ("client", ["auth", "test", "-a", "{client}", "-x", "service=imap",
                "-x", "rip=127.0.0.2", "bob", "bobpw"]),
    ("client", ["auth", "test", "-a", "{userdb}", "alice", "alicepw"]),
    ("client", ["auth", "test", "-a", "{dir}/no-such-socket", "alice", "x"]),
    ("client", ["auth", "test", "-a", "{client}"]),
    ("userdb", ["user", "-a", "{userdb}", "alice"]),
    ("userdb", ["user", "-a", "{userdb}", "bob"]),
    ("userdb", ["user", "-a", "{userdb}", "nosuch"]),
    ("userdb", ["user", "-a", "{userdb}", "-f", "home", "alice"]),
    ("userdb", ["user", "-a", "{userdb}", "-f", "quota_rule", "alice"]),
    ("userdb", ["user", "-a", "{userdb}", "-f", "nosuchfield", "alice"]),
    ("userdb", ["user", "-a", "{userdb}", "-f", "home", "nosuch"]),
    ("userdb", ["user", "-a", "{userdb}", "-u", "alice"]),
    ("userdb", ["user", "-a", "{userdb}", "-f", "uid", "alice", "bob"]),
    ("userdb", ["user", "-a", "{userdb}", "alice", "nosuch"]),
    ("userdb", ["user", "-a", "{master}", "-x", "service=imap", "bob"]),
    ("userdb", ["user", "-a", "{userdb}", "A*"]),
    ("userdb", ["user", "-a", "{userdb}", "?ob"]),
    ("userdb", ["user", "-a", "{client}", "alice"]),
    ("userdb", ["user", "-a", "{dir}/no-such-socket", "alice"]),
    ("userdb", ["user"]),
    ("userdb", ["auth", "lookup", "-a", "{userdb}", "alice"]),
    ("userdb", ["auth", "lookup", "-a", "{userdb}", "nosuch"]),
    ("userdb", ["auth", "lookup", "-a", "{userdb}", "-f", "user", "bob"]),
]


@pytest.mark.parametrize("kind,args", CASES, ids=[" ".join(a) for _, a in CASES])
def test_same_as_doveadm(auth_server, roostadm, doveadm_conf, kind, args):
    subst = {"client": auth_server.client_socket, "userdb": auth_server.userdb_socket,
             "master": auth_server.master_socket, "dir": auth_server.dir}
    args = [a.format(**subst) for a in args]
    d = run(["doveadm", "-c", doveadm_conf] + args)
    r = run([roostadm] + args)
    assert (r.returncode, r.stdout) == (d.returncode, d.stdout), \
        f"doveadm:\n{explain(d)}\nroostadm:\n{explain(r)}"


def test_socket_errors_name_path_errno_identity(auth_server, roostadm):
    path = os.path.join(auth_server.dir, "no-such-socket")
    for args in (["auth", "test", "-a", path, "alice", "x"], ["user", "-a", path, "alice"]):
        r = run([roostadm] + args)
        err = r.stderr.decode()
        assert f"connect({path}) failed: No such file or directory" in err, explain(r)
        assert "euid=" in err, explain(r)


def test_wrong_socket_type_is_named(auth_server, roostadm):
    r = run([roostadm, "auth", "test", "-a", auth_server.userdb_socket, "alice", "alicepw"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"not an auth client socket" in r.stderr, explain(r)
    r = run([roostadm, "user", "-a", auth_server.client_socket, "alice"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"is an auth client socket" in r.stderr, explain(r)


def test_password_from_stdin(auth_server, roostadm):
    r = run([roostadm, "auth", "test", "-a", auth_server.client_socket, "alice"],
            stdin_data=b"alicepw\n")
    assert r.returncode == 0, explain(r)
    assert r.stdout.startswith(b"passdb: alice auth succeeded\n"), explain(r)


def test_password_prompt_on_tty_without_echo(auth_server, roostadm):
    master, slave = os.openpty()
    p = subprocess.Popen([roostadm, "auth", "test", "-a", auth_server.client_socket, "alice"],
                         stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        prompt = b""
        while b"Password: " not in prompt:
            ready, _, _ = select.select([p.stderr], [], [], 20)
            assert ready, f"no password prompt, got {prompt!r}"
            chunk = os.read(p.stderr.fileno(), 100)
            assert chunk, f"stderr closed, got {prompt!r}"
            prompt += chunk
        os.write(master, b"alicepw\n")
        out, err = p.communicate(timeout=30)
        echoed = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 1000)
            except OSError:
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert p.returncode == 0, (out, err)
    assert out.startswith(b"passdb: alice auth succeeded\n"), out
    assert b"alicepw" not in echoed, f"password echoed on the terminal: {echoed!r}"


# ------------------------------------------------ scripted fake server

CLIENT_HANDSHAKE = (b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
                    b"SPID\t4242\nCUID\t7\nCOOKIE\t" + b"0f" * 16 + b"\nDONE\n")
MASTER_HANDSHAKE = b"VERSION\t1\t1\nSPID\t4242\n"


class FakeServer:
    """Accepts one connection, sends `handshake`, reads until a line starts
    with `wait_for`, then sends `reply` (None: close instead). Records
    everything the client sent."""

    def __init__(self, handshake, wait_for, reply):
        self.dir = tempfile.mkdtemp(prefix="ra.", dir="/tmp")
        self.path = os.path.join(self.dir, "sock")
        self.handshake, self.wait_for, self.reply = handshake, wait_for, reply
        self.received = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            conn.sendall(self.handshake)
            try:
                while not any(l.startswith(self.wait_for)
                              for l in self.received.split(b"\n")[:-1]):
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    self.received += chunk
                if self.reply is not None:
                    conn.sendall(self.reply)
                    # let the client close first
                    while conn.recv(4096):
                        pass
            except OSError:
                pass

    def close(self):
        self.sock.close()
        self.thread.join(10)
        os.unlink(self.path)
        os.rmdir(self.dir)

    def lines(self):
        return self.received.split(b"\n")


@pytest.fixture
def fake():
    servers = []

    def make(handshake, wait_for, reply):
        s = FakeServer(handshake, wait_for, reply)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def test_auth_request_line(roostadm, fake):
    s = fake(CLIENT_HANDSHAKE, b"AUTH\t", b"OK\t1\tuser=alice\n")
    r = run([roostadm, "auth", "test", "-a", s.path, "-x", "rip=127.0.0.9",
             "-x", "service=smtp", "-M", "boss", "alice", "pw\tx"])
    assert r.returncode == 0, explain(r)
    assert s.lines()[0] == b"VERSION\t1\t2"
    assert s.lines()[1].startswith(b"CPID\t")
    # PLAIN: authzid=alice, authcid=boss (the -M master user), password
    import base64
    assert s.lines()[2] == (b"AUTH\t1\tPLAIN\tservice=smtp\trip=127.0.0.9\tresp="
                            + base64.b64encode(b"alice\0boss\0pw\tx")), s.received


def test_auth_reply_fields_are_unescaped(roostadm, fake):
    s = fake(CLIENT_HANDSHAKE, b"AUTH\t",
             b"FAIL\t1\tuser=al\x01tice\tcode=temp_fail\treason=db\x01ndown\x01\x01\n")
    r = run([roostadm, "auth", "test", "-a", s.path, "alice", "pw"])
    assert r.returncode == EX_NOPERM, explain(r)
    assert r.stdout == (b"passdb: alice auth failed\nextra fields:\n  user=al\tice\n"
                        b"  code=temp_fail\n  reason=db\ndown\x01\n"), explain(r)


def test_auth_server_closes_during_request(roostadm, fake):
    s = fake(CLIENT_HANDSHAKE, b"AUTH\t", None)
    r = run([roostadm, "auth", "test", "-a", s.path, "alice", "pw"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert r.stdout == b"passdb: alice auth failed\nextra fields:\n  temp\n", explain(r)
    assert b"closed the connection" in r.stderr, explain(r)


@pytest.mark.parametrize("reply,message", [
    (b"OK\t2\tuser=alice\n", b"another request"),
    (b"CONT\t1\t\n", b"continuation"),
    (b"WHAT\t1\n", b"unknown reply"),
])
def test_auth_bad_replies(roostadm, fake, reply, message):
    s = fake(CLIENT_HANDSHAKE, b"AUTH\t", reply)
    r = run([roostadm, "auth", "test", "-a", s.path, "alice", "pw"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"succeeded" not in r.stdout, explain(r)
    assert message in r.stderr, explain(r)


def test_auth_major_version_2_refused(roostadm, fake):
    s = fake(b"VERSION\t2\t0\nMECH\tPLAIN\nDONE\n", b"CPID\t", None)
    r = run([roostadm, "auth", "test", "-a", s.path, "alice", "pw"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"major version 2" in r.stderr, explain(r)
    assert not any(l.startswith(b"AUTH") for l in s.lines()), s.received


def test_auth_without_plain_mech(roostadm, fake):
    s = fake(CLIENT_HANDSHAKE.replace(b"MECH\tPLAIN\tplaintext\n", b""), b"CPID\t", None)
    r = run([roostadm, "auth", "test", "-a", s.path, "alice", "pw"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"PLAIN" in r.stderr, explain(r)


def test_user_request_and_renamed_user(roostadm, fake):
    s = fake(MASTER_HANDSHAKE, b"USER\t",
             b"USER\t1\tAlice\tuid=5\thome=/h/a\x01tb\tflag\tmail=maildir:~/M\n")
    r = run([roostadm, "user", "-a", s.path, "-x", "rip=127.0.0.3", "-x", "foo=bar", "alice"])
    assert r.returncode == 0, explain(r)
    assert s.lines()[0] == b"VERSION\t1\t0"
    # doveadm passes only the known info keys of -x on to USER
    assert s.lines()[1] == b"USER\t1\talice\tservice=doveadm\trip=127.0.0.3", s.received
    assert r.stdout == (b"field\tvalue\nuser\tAlice\nuid\t5\ngid\t\nhome\t/h/a\tb\n"
                        b"mail\tmaildir:~/M\nflag\t\n"), explain(r)


def test_user_tempfail_reason(roostadm, fake):
    s = fake(MASTER_HANDSHAKE, b"USER\t", b"FAIL\t1\treason=db down\n")
    r = run([roostadm, "user", "-a", s.path, "alice"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"userdb lookup failed for alice: db down" in r.stderr, explain(r)


def test_user_server_closes(roostadm, fake):
    s = fake(MASTER_HANDSHAKE, b"USER\t", None)
    r = run([roostadm, "user", "-a", s.path, "alice"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"closed the connection" in r.stderr, explain(r)


def test_user_list_filters_mask(roostadm, fake):
    """Dovecot 2.3's server answers LIST with every user whatever the mask;
    the client filters (case-insensitively, * and ?)."""
    s = fake(MASTER_HANDSHAKE, b"LIST\t",
             b"LIST\t1\talice\nLIST\t1\tbob\nLIST\t1\tALBERT\nLIST\t1\tal\nDONE\t1\t\n")
    r = run([roostadm, "user", "-a", s.path, "al?*"])
    assert r.returncode == 0, explain(r)
    assert r.stdout == b"alice\nALBERT\n", explain(r)
    assert s.lines()[1].startswith(b"LIST\t1\tuser=al?*\tservice=doveadm"), s.received


def test_user_list_failure(roostadm, fake):
    s = fake(MASTER_HANDSHAKE, b"LIST\t", b"DONE\t1\tfail\n")
    r = run([roostadm, "user", "-a", s.path, "*"])
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert b"listing failed" in r.stderr, explain(r)
