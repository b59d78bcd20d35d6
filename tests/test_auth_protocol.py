"""Auth client protocol 1.2 and auth master/userdb protocol 1.1, on the wire.

Expected bytes are those of Dovecot 2.3 (spec/auth-client-protocol.md,
spec/auth-master-protocol.md; verified against Dovecot 2.3.19.1 by running
this file with ROOST_TEST_TARGET=dovecot). After every piece of bad input
the test also checks that the same auth process (same SPID: no crash hidden
by a restart) still serves a fresh connection, and that the server logged
why it dropped the client.
"""
import re
import socket
import threading
import time

import pytest

import authproto
from authproto import ClientConn, MasterConn, b64, plain_resp
from conftest import TARGET, check_serves, new_server, vm_rss_kb

ALICE = plain_resp("alice", "alicepw")
RSS_LIMIT_KB = 64 * 1024
CLIENT_LINE_MAX = 16384       # server input buffer on client sockets (incl. LF)
MASTER_LINE_MAX = 1024        # ... on master/userdb sockets


def strip_trailing_empty(fields):
    """Dovecot ends some replies with an empty field ("OK\\t1\\tuser=a\\t");
    clients must accept both forms, so the tests do too."""
    f = list(fields)
    while len(f) > 3 and f[-1] == "":
        f.pop()
    return f


def client(server, minor=2):
    c = ClientConn(server.client_socket)
    c.handshake(minor=minor)
    return c


def master(server, path=None):
    c = MasterConn(path or server.master_socket)
    c.handshake()
    return c


def expect_disconnect(server, conn, log_regex, before=b"", timeout=5.0):
    """The server must close conn, having sent exactly `before` first; then the
    same auth process serves a fresh connection and the log says why."""
    got = conn.wait_closed(timeout)
    assert got == before, f"expected {before!r} then close, got {got!r} then close"
    conn.close()
    check_same_process_serves(server, conn.spid)
    server.wait_log(conn.log_mark, log_regex)


def check_same_process_serves(server, spid):
    check_serves(server)
    assert server.auth_pid() == spid, (
        f"auth process changed ({spid} -> {server.auth_pid()}): it crashed and was restarted")


def fresh(server, kind="client"):
    """Handshaken connection that remembers the log position before use."""
    mark = server.log_mark()
    if kind == "client":
        c = client(server)
    elif kind == "master":
        c = master(server)
    else:
        c = master(server, server.userdb_socket)
    c.log_mark = mark
    return c


def fresh_raw(server, path):
    """Connection that has only read the server's handshake (sent nothing)."""
    mark = server.log_mark()
    c = (MasterConn if path != server.client_socket else ClientConn)(path)
    c.read_handshake()
    c.log_mark = mark
    return c


# ======================================================= handshake (spec 9)

def test_client_handshake_transcript(auth_server):
    with ClientConn(auth_server.client_socket) as c:
        lines = c.handshake(minor=2)
    assert lines[0] == "VERSION\t1\t2", lines
    assert lines[1:3] == ["MECH\tPLAIN\tplaintext", "MECH\tLOGIN\tplaintext"], lines
    assert re.fullmatch(r"SPID\t[1-9][0-9]*", lines[3]), lines
    assert re.fullmatch(r"CUID\t[1-9][0-9]*", lines[4]), lines
    assert re.fullmatch(r"COOKIE\t[0-9a-f]{32}", lines[5]), lines
    assert lines[6:] == ["DONE"], lines
    assert c.spid == auth_server.auth_pid()


def test_client_handshake_needs_no_client_input(auth_server):
    """Exim reads the whole handshake before it sends anything (spec 2.2)."""
    with ClientConn(auth_server.client_socket) as c:
        lines = c.read_handshake(timeout=3)
        assert lines[0] == "VERSION\t1\t2" and lines[-1] == "DONE", lines
        # then Exim's way: VERSION 1 0, then CPID + AUTH in one write, resp= empty
        c.send("VERSION\t1\t0\nCPID\t999\nAUTH\t1\tPLAIN\tservice=smtp\tsecured\t"
               f"rip=127.0.0.1\tlip=127.0.0.1\tnologin\tresp={ALICE}\n")
        assert strip_trailing_empty(c.reply()) == ["OK", "1", "user=alice"]


def test_client_handshake_mechs_before_spid(auth_server):
    """MTAs treat SPID before any MECH as 'wrong socket' (spec 2.1)."""
    with ClientConn(auth_server.client_socket) as c:
        lines = c.handshake()
    kinds = [l.split("\t")[0] for l in lines]
    assert kinds.index("SPID") > max(i for i, k in enumerate(kinds) if k == "MECH")


def test_client_handshake_cookie_and_cuid_per_connection(auth_server):
    with ClientConn(auth_server.client_socket) as a, \
            ClientConn(auth_server.client_socket) as b:
        a.handshake()
        b.handshake()
    assert a.cookie != b.cookie, "COOKIE must be random per connection"
    assert a.cuid != b.cuid, "CUID must be unique per connection"
    assert a.spid == b.spid


def test_inet_listener_speaks_client_protocol(auth_server):
    with ClientConn(auth_server.inet_addr) as c:
        lines = c.handshake(minor=0, cpid=12345)
        assert lines[0] == "VERSION\t1\t2" and "MECH\tPLAIN\tplaintext" in lines
        assert lines[-1] == "DONE"
        assert strip_trailing_empty(c.plain("alice", "alicepw")) == ["OK", "1", "user=alice"]


@pytest.mark.parametrize("which", ["master", "userdb"])
def test_master_socket_handshake(auth_server, which):
    path = auth_server.master_socket if which == "master" else auth_server.userdb_socket
    with MasterConn(path) as c:
        lines = c.read_handshake(timeout=3)
        assert lines == ["VERSION\t1\t1", f"SPID\t{auth_server.auth_pid()}"], lines
        # nothing else: no MECH, no DONE (that is how MTAs spot the wrong socket)
        with pytest.raises(socket.timeout):
            c.read_line(timeout=0.5)
        assert c.buf == b""


# ============================================================ normal flows

def test_plain_success_wrong_password_unknown_user(auth_server):
    with client(auth_server) as c:
        assert strip_trailing_empty(c.plain("alice", "alicepw")) == ["OK", "1", "user=alice"]
        assert strip_trailing_empty(c.plain("alice", "wrong")) == ["FAIL", "2", "user=alice"]
        assert strip_trailing_empty(c.plain("nosuch", "x")) == ["FAIL", "3", "user=nosuch"]
        # {PLAIN}-prefixed password in the passwd-file works too
        assert strip_trailing_empty(c.plain("bob", "bobpw")) == ["OK", "4", "user=bob"]


def test_plain_without_initial_response(auth_server):
    with client(auth_server) as c:
        rid = c.auth("PLAIN")
        assert c.reply() == ["CONT", str(rid), ""]
        c.cont(rid, ALICE)
        assert strip_trailing_empty(c.reply()) == ["OK", str(rid), "user=alice"]


def test_login_multistep(auth_server):
    with client(auth_server) as c:
        lines = c.login("bob", "bobpw")
    assert lines[0] == ["CONT", "1", "VXNlcm5hbWU6"]     # "Username:"
    assert lines[1] == ["CONT", "1", "UGFzc3dvcmQ6"]     # "Password:"
    assert strip_trailing_empty(lines[2]) == ["OK", "1", "user=bob"]


def test_login_initial_response_is_username(auth_server):
    with client(auth_server) as c:
        rid = c.auth("LOGIN", resp=b64("alice"))
        assert c.reply() == ["CONT", str(rid), "UGFzc3dvcmQ6"]
        c.cont(rid, b64("alicepw"))
        assert strip_trailing_empty(c.reply()) == ["OK", str(rid), "user=alice"]


def test_empty_resp_minor0_means_no_initial_response(auth_server):
    """Exim sends resp= empty for LOGIN and announces minor 0 (spec 2.2)."""
    with client(auth_server, minor=0) as c:
        rid = c.auth("LOGIN", "secured", resp="")
        assert c.reply() == ["CONT", str(rid), "VXNlcm5hbWU6"]


def test_empty_resp_minor2_is_empty_response(auth_server):
    with client(auth_server, minor=2) as c:
        rid = c.auth("PLAIN", resp="")
        assert strip_trailing_empty(c.reply()) == ["FAIL", str(rid)]
        rid = c.auth("PLAIN", resp="=")
        assert strip_trailing_empty(c.reply()) == ["FAIL", str(rid)]


def test_postfix_style_auth_line(auth_server):
    """Mechanism matched case-insensitively; unknown parameters ignored."""
    with client(auth_server, minor=0) as c:
        c.send(f"AUTH\t7\tplain\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1"
               f"\tfoo=bar\tsome-flag\tresp={ALICE}\n")
        assert strip_trailing_empty(c.reply()) == ["OK", "7", "user=alice"]


def test_cancel_forgets_request(auth_server):
    with client(auth_server) as c:
        rid = c.auth("LOGIN")
        assert c.reply()[0] == "CONT"
        c.send_line("CANCEL", str(rid))
        # the id is free again; CANCEL itself has no reply
        c.send_line("AUTH", str(rid), "PLAIN", "service=smtp", f"resp={ALICE}")
        assert strip_trailing_empty(c.reply()) == ["OK", str(rid), "user=alice"]


def test_nul_in_login_data_fails(auth_server):
    """LOGIN does not allow NUL in decoded data: plain FAIL, no disconnect."""
    with client(auth_server) as c:
        rid = c.auth("LOGIN")
        assert c.reply()[0] == "CONT"
        c.cont(rid, b64(b"ali\0ce"))
        assert strip_trailing_empty(c.reply()) == ["FAIL", str(rid)]
        assert strip_trailing_empty(c.plain("alice", "alicepw"))[0] == "OK"


def test_failure_delay_applied_success_immediate():
    """auth_failure_delay = 1s: FAIL arrives >= ~1 s later, OK at once."""
    s = new_server(failure_delay="1s")
    try:
        with client(s) as c:
            t = time.monotonic()
            f = c.plain("alice", "wrong", timeout=10)
            dt_fail = time.monotonic() - t
            t = time.monotonic()
            ok = c.plain("alice", "alicepw", timeout=10)
            dt_ok = time.monotonic() - t
        assert strip_trailing_empty(f) == ["FAIL", "1", "user=alice"]
        assert strip_trailing_empty(ok) == ["OK", "2", "user=alice"]
        # Dovecot compares whole seconds from a 500 ms timer, so its "1 s"
        # delay is really 0.5-1.5 s; roost must wait the full second.
        low = 0.45 if TARGET == "dovecot" else 0.95
        assert low <= dt_fail < 4.0, f"FAIL after {dt_fail:.2f}s, expected the 1 s delay"
        assert dt_ok < 0.5, f"OK took {dt_ok:.2f}s; successes must not be delayed"
    finally:
        s.cleanup()


# =============================================== bad input, client socket

def test_client_overlong_line_disconnects(auth_server):
    c = fresh(auth_server)
    c.send(b"AUTH\t1\tPLAIN\tservice=smtp\tresp=" + b"A" * 17000 + b"\n")
    expect_disconnect(auth_server, c, r"16384|too long|line.*(long|length)")


def _auth_line_of_length(n):
    """A valid PLAIN AUTH line of exactly n bytes (without LF): an ignored
    parameter pads it."""
    head = "AUTH\t1\tPLAIN\tservice=smtp\tpad="
    tail = f"\tresp={ALICE}"
    return (head + "x" * (n - len(head) - len(tail)) + tail).encode()


def test_client_line_length_boundary(auth_server):
    """16383 bytes + LF fit the 16384-byte buffer; 16385 + LF do not."""
    with client(auth_server) as c:
        c.send(_auth_line_of_length(CLIENT_LINE_MAX - 1) + b"\n")
        assert strip_trailing_empty(c.reply()) == ["OK", "1", "user=alice"]
    c = fresh(auth_server)
    c.send(_auth_line_of_length(CLIENT_LINE_MAX + 1) + b"\n")
    expect_disconnect(auth_server, c, r"16384|too long|line.*(long|length)")


def test_client_unknown_command_disconnects(auth_server):
    c = fresh(auth_server)
    c.send("FROB\t1\tx\n")
    expect_disconnect(auth_server, c, r"unknown command")


def test_client_auth_before_version_disconnects(auth_server):
    c = fresh_raw(auth_server, auth_server.client_socket)
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\tresp={ALICE}\n")
    expect_disconnect(auth_server, c, r"version|handshake")


def test_client_auth_before_cpid_disconnects(auth_server):
    c = fresh_raw(auth_server, auth_server.client_socket)
    c.send(f"VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\tresp={ALICE}\n")
    expect_disconnect(auth_server, c, r"handshake|cpid|unknown")


def test_client_bad_version_major_disconnects(auth_server):
    c = fresh_raw(auth_server, auth_server.client_socket)
    c.send("VERSION\t2\t0\nCPID\t4242\n")
    expect_disconnect(auth_server, c, r"version|compatible")


def test_client_bad_base64_fails_not_disconnects(auth_server):
    with client(auth_server) as c:
        c.send("AUTH\t1\tPLAIN\tservice=smtp\tresp=!!!\n")
        assert c.reply() == ["FAIL", "1", "code=invalid_base64",
                             "reason=Invalid base64 data in initial response"]
        rid = c.auth("PLAIN")
        assert c.reply() == ["CONT", str(rid), ""]
        c.cont(rid, "!!!")
        assert c.reply() == ["FAIL", str(rid), "code=invalid_base64",
                             "reason=Invalid base64 data in continued response"]
        # same connection still works
        assert strip_trailing_empty(c.plain("alice", "alicepw"))[0] == "OK"
        spid = c.spid
    check_same_process_serves(auth_server, spid)


def test_client_duplicate_id_disconnects(auth_server):
    c = fresh(auth_server)
    c.send("AUTH\t1\tLOGIN\tservice=smtp\nAUTH\t1\tLOGIN\tservice=smtp\n")
    expect_disconnect(auth_server, c, r"duplicate",
                      before=b"CONT\t1\tVXNlcm5hbWU6\n")


def test_client_nul_in_mechanism_disconnects(auth_server):
    """NUL inside the line: Dovecot sees the line cut at the NUL ("PL" is an
    unknown mechanism) and closes; rejecting the line outright also closes."""
    c = fresh(auth_server)
    c.send(f"AUTH\t1\tPL\0AIN\tservice=smtp\tresp={ALICE}\n".encode())
    expect_disconnect(auth_server, c, r"mechanism|nul|invalid|unknown")


def test_client_nul_in_parameters(auth_server):
    """NUL after service=: Dovecot cuts the line there, so the request has no
    resp= and gets an empty CONT; the bytes after the NUL (valid credentials)
    must never authenticate. Closing the connection is the other acceptable
    reaction."""
    mark = auth_server.log_mark()
    c = client(auth_server)
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\0junk\tresp={ALICE}\n".encode())
    try:
        got = c.reply(timeout=5)
    except authproto.Closed:
        got = None
        c.close()
        auth_server.wait_log(mark, r"nul|invalid|broken")
    if got is not None:
        assert got == ["CONT", "1", ""], f"NUL-truncated AUTH got {got!r}"
        c.close()
    check_same_process_serves(auth_server, c.spid)


def test_client_nul_as_command_disconnects(auth_server):
    c = fresh(auth_server)
    c.send(b"\0AUTH\t1\tPLAIN\tservice=smtp\n")
    expect_disconnect(auth_server, c, r"unknown command|nul|invalid")


def test_client_unknown_mechanism_disconnects(auth_server):
    c = fresh(auth_server)
    c.send("AUTH\t1\tFOO\tservice=smtp\n")
    expect_disconnect(auth_server, c, r"mechanism")


def test_client_params_after_resp_disconnects(auth_server):
    c = fresh(auth_server)
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\tresp={ALICE}\tsecured\n")
    expect_disconnect(auth_server, c, r"resp")


def test_client_missing_service_disconnects(auth_server):
    c = fresh(auth_server)
    c.send(f"AUTH\t1\tPLAIN\tresp={ALICE}\n")
    expect_disconnect(auth_server, c, r"service")


@pytest.mark.parametrize("rid", ["0", "x1", ""])
def test_client_bad_request_id_disconnects(auth_server, rid):
    c = fresh(auth_server)
    c.send(f"AUTH\t{rid}\tPLAIN\tservice=smtp\tresp={ALICE}\n")
    expect_disconnect(auth_server, c, r"broken|invalid|id")


def test_client_broken_cont_disconnects(auth_server):
    c = fresh(auth_server)
    c.send("CONT\tx\n")
    expect_disconnect(auth_server, c, r"broken|invalid|cont")


def test_client_cont_for_unknown_id_fails(auth_server):
    with client(auth_server) as c:
        c.cont(99, "AAAA")
        assert c.reply() == ["FAIL", "99", "reason=Authentication request timed out"]
        assert strip_trailing_empty(c.plain("alice", "alicepw"))[0] == "OK"
        spid = c.spid
    check_same_process_serves(auth_server, spid)


def test_client_10000_pipelined_requests(auth_server):
    """10,000 AUTHs in one write, every 10th with a wrong password: each id
    answered exactly once, 9,000 OK and 1,000 FAIL."""
    n = 10000
    bad = plain_resp("alice", "nope")
    payload = b"".join(
        f"AUTH\t{i}\tPLAIN\tservice=smtp\tresp={bad if i % 10 == 0 else ALICE}\n".encode()
        for i in range(1, n + 1))
    c = client(auth_server)
    replies = {}
    errors = []

    def reader():
        try:
            while len(replies) < n:
                f = c.read_fields(timeout=60)
                if f[1] in replies:
                    errors.append(f"id {f[1]} answered twice")
                replies[f[1]] = f[0]
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    c.sock.settimeout(60)
    c.sock.sendall(payload)
    t.join(120)
    c.close()
    assert not errors, errors[:5]
    assert len(replies) == n
    oks = sum(1 for v in replies.values() if v == "OK")
    fails = sum(1 for v in replies.values() if v == "FAIL")
    assert (oks, fails) == (9000, 1000)
    assert all(replies[str(i)] == "FAIL" for i in range(10, n + 1, 10))
    check_same_process_serves(auth_server, c.spid)


def test_client_200_half_requests_vanish(auth_server):
    """200 clients send half an AUTH line (or an unfinished LOGIN) and
    disconnect; the auth process stays up, small, and serving."""
    spid = auth_server.auth_pid()
    socks = []
    for i in range(200):
        s = authproto.connect(auth_server.client_socket)
        if i % 2:
            s.sendall(f"VERSION\t1\t2\nCPID\t{10000 + i}\nAUTH\t1\tPLAIN\tservice=smtp\t"
                      f"resp={ALICE[:10]}".encode())
        else:    # a complete LOGIN that stays pending at the Username: prompt
            s.sendall(f"VERSION\t1\t2\nCPID\t{10000 + i}\nAUTH\t1\tLOGIN\tservice=smtp\n"
                      f"AUTH\t2\tPLAIN\tser".encode())
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        s.close()
    time.sleep(0.5)
    check_same_process_serves(auth_server, spid)
    rss = vm_rss_kb(spid)
    assert rss < RSS_LIMIT_KB, f"auth process VmRSS {rss} kB"


def test_client_that_never_reads_is_throttled(auth_server):
    """A client floods AUTHs and never reads: the server must stop reading
    it (output throttling) instead of buffering without bound, keep serving
    others meanwhile, and answer everything once the client reads again."""
    spid = auth_server.auth_pid()
    rss_before = vm_rss_kb(spid)
    c = client(auth_server)
    c.sock.setblocking(False)
    cap = 64 * 1024 * 1024
    sent_lines = 0
    sent_bytes = 0
    pending = b""
    stalled_since = None
    rid = 0
    while sent_bytes < cap:
        if not pending:
            batch = []
            for _ in range(1000):
                rid += 1
                batch.append(f"AUTH\t{rid}\tPLAIN\tservice=smtp\tresp={ALICE}\n")
            pending = "".join(batch).encode()
            sent_lines += 1000
        try:
            k = c.sock.send(pending)
            pending = pending[k:]
            sent_bytes += k
            stalled_since = None
        except BlockingIOError:
            now = time.monotonic()
            stalled_since = stalled_since or now
            if now - stalled_since > 2.0:
                break
            time.sleep(0.01)
    print(f"throttle: client could send {sent_bytes} bytes ({sent_lines} requests) before blocking")
    assert sent_bytes < cap, (
        f"server accepted {sent_bytes} bytes without the client reading a single "
        f"reply: no output throttling")
    rss_flood = vm_rss_kb(spid)
    # other clients are served while this one is stuck
    check_same_process_serves(auth_server, spid)
    # now read: every request sent must be answered with OK
    c.sock.setblocking(True)
    got = {"OK": 0}
    errors = []

    def reader():
        try:
            while sum(got.values()) < sent_lines:
                f = c.read_fields(timeout=60)
                got[f[0]] = got.get(f[0], 0) + 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    c.sock.settimeout(60)
    c.sock.sendall(pending)
    t.join(180)
    c.close()
    assert not errors, errors
    assert got == {"OK": sent_lines}, got
    assert rss_flood < RSS_LIMIT_KB, (
        f"auth process VmRSS {rss_flood} kB while a client did not read "
        f"(before: {rss_before} kB)")
    check_same_process_serves(auth_server, spid)


# ========================================== bad input, master/userdb socket

def test_master_overlong_line_disconnects(auth_server):
    c = fresh(auth_server, "master")
    c.send(b"USER\t1\talice\tservice=doveadm\tx=" + b"A" * 2000 + b"\n")
    expect_disconnect(auth_server, c, r"1024|too long|line.*(long|length)")


def _user_line_of_length(n):
    head = "USER\t1\talice\tservice=doveadm\tpad="
    return (head + "x" * (n - len(head))).encode()


@pytest.mark.parametrize("which", ["master", "userdb"])
def test_master_line_length_boundary(auth_server, which):
    """1023 bytes + LF fit the 1024-byte buffer; 1025 + LF do not."""
    with fresh(auth_server, which) as c:
        c.send(_user_line_of_length(MASTER_LINE_MAX - 1) + b"\n")
        f = c.read_fields()
        assert f[:3] == ["USER", "1", "alice"], f
    c = fresh(auth_server, which)
    c.send(_user_line_of_length(MASTER_LINE_MAX + 1) + b"\n")
    expect_disconnect(auth_server, c, r"1024|too long|line.*(long|length)")


@pytest.mark.parametrize("which", ["master", "userdb"])
def test_master_unknown_command_disconnects(auth_server, which):
    c = fresh(auth_server, which)
    c.send("FROB\t1\n")
    expect_disconnect(auth_server, c, r"unknown command")


def test_master_cpid_disconnects(auth_server):
    """A client-protocol peer on the master socket (spec: master 1)."""
    c = fresh(auth_server, "master")
    c.send("CPID\t4242\n")
    expect_disconnect(auth_server, c, r"master socket|cpid")


@pytest.mark.parametrize("which", ["master", "userdb"])
def test_master_bad_version_disconnects(auth_server, which):
    path = auth_server.master_socket if which == "master" else auth_server.userdb_socket
    c = fresh_raw(auth_server, path)
    c.send("VERSION\t2\t1\n")
    expect_disconnect(auth_server, c, r"version|compatible")


def test_master_request_before_version_disconnects(auth_server):
    c = fresh_raw(auth_server, auth_server.master_socket)
    c.send("USER\t1\talice\tservice=doveadm\n")
    expect_disconnect(auth_server, c, r"version|compatible|handshake")


def test_master_user_without_service_disconnects(auth_server):
    c = fresh(auth_server, "userdb")
    c.send("USER\t1\talice\n")
    expect_disconnect(auth_server, c, r"service")


def test_master_nul_in_line_disconnects(auth_server):
    """NUL in the user name: Dovecot cuts the line ("al", no service=) and
    closes."""
    c = fresh(auth_server, "userdb")
    c.send(b"USER\t1\tal\0ice\tservice=doveadm\n")
    expect_disconnect(auth_server, c, r"service|nul|invalid")


@pytest.mark.parametrize("line", [
    "REQUEST\t1\t4242\t1\t00000000000000000000000000000000",
    "CACHE-FLUSH\t1",
])
def test_userdb_refuses_master_only_commands(auth_server, line):
    c = fresh(auth_server, "userdb")
    c.send(line + "\n")
    expect_disconnect(auth_server, c, r"unknown command|not allowed|userdb")


def test_master_request_for_unknown_client_fails(auth_server):
    with master(auth_server) as c:
        c.send("REQUEST\t1\t4242\t1\t00000000000000000000000000000000\n")
        assert c.read_fields() == ["FAIL", "1"]
        f = c.user("alice")
        assert f[:3] == ["USER", "1", "alice"]


def test_master_cache_flush(auth_server):
    with master(auth_server) as c:
        c.send("CACHE-FLUSH\t5\n")
        f = c.read_fields()
        assert f[:2] == ["OK", "5"] and re.fullmatch(r"[0-9]+", f[2]), f


# ================================================ userdb socket lookups

@pytest.mark.parametrize("which", ["master", "userdb"])
def test_userdb_user_lookup(auth_server, which):
    with fresh(auth_server, which) as c:
        f = c.user("alice", service="lmtp")
        assert f[:3] == ["USER", "1", "alice"], f
        assert f[3:6] == ["uid=1001", "gid=1001", "home=/home/alice"], f
        assert set(x for x in f[6:] if x) == {"quota_rule=*:storage=1G"}, f
        f = c.user("bob", service="lmtp")
        assert [x for x in f if x] == ["USER", "2", "bob", "uid=1002", "gid=1002",
                                       "home=/home/bob"], f
        assert c.user("nosuch", service="lmtp") == ["NOTFOUND", "3"]


def test_userdb_pass_lookup(auth_server):
    with fresh(auth_server, "userdb") as c:
        f = strip_trailing_empty(c.passdb("alice"))
        assert f == ["PASS", "1", "user=alice"], f
        assert c.passdb("nosuch") == ["NOTFOUND", "2"]


def test_userdb_list(auth_server):
    with fresh(auth_server, "userdb") as c:
        users, done = c.list_users()
        assert sorted(users) == ["alice", "bob"]
        assert done == ["DONE", "1", ""], done
