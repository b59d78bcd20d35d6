"""Exim 4.96 SMTP AUTH through the server under test (`driver = dovecot`).

Exim differs from Postfix in ways that matter (spec section 11): a new auth
connection per attempt, it reads the server's whole handshake before
sending its own, sends `secured` and an empty `resp=` for LOGIN. One private
Exim per listener kind: `server_socket` = the unix client socket, and
"127.0.0.1 PORT" (Exim's TCP form) = the inet listener.

Needs the exim4-daemon-heavy binary unpacked by tests/install-exim.sh
(exim4 conflicts with postfix in Debian); skipped when it is absent.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import _live, free_port, make_tmpdir, stop_pid, wait_for
from test_postfix import _listening, assert_reply, auth_args, swaks

EXIM = os.environ.get("EXIM", "/opt/exim4-heavy/usr/sbin/exim4")


class Exim:
    def __init__(self, socket_spec):
        self.dir = make_tmpdir("ex.")
        self.port = free_port()
        self.socket_spec = socket_spec
        self.proc = None

    def start(self):
        for sub in ("spool", "log"):
            os.makedirs(os.path.join(self.dir, sub))
            # with -C the daemon drops root for the compiled-in exim user
            shutil.chown(os.path.join(self.dir, sub), "Debian-exim", "Debian-exim")
        conf = os.path.join(self.dir, "exim.conf")
        with open(conf, "w") as f:
            f.write(f"""\
keep_environment =
primary_hostname = mx.example.test
spool_directory = {self.dir}/spool
log_file_path = {self.dir}/log/%slog
local_interfaces = 127.0.0.1
daemon_smtp_ports = {self.port}
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
auth_advertise_hosts = *
acl_smtp_rcpt = acl_check_rcpt
queue_only = true

begin acl
acl_check_rcpt:
  accept authenticated = *
  deny   message = relay not permitted

begin authenticators
dovecot_plain:
  driver = dovecot
  public_name = PLAIN
  server_socket = {self.socket_spec}
  server_set_id = $auth1
dovecot_login:
  driver = dovecot
  public_name = LOGIN
  server_socket = {self.socket_spec}
  server_set_id = $auth1
""")
        r = subprocess.run([EXIM, "-C", conf, "-bV"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, f"exim -bV:\n{r.stdout}{r.stderr}"
        self.proc = subprocess.Popen([EXIM, "-C", conf, "-bdf", "-oP",
                                      os.path.join(self.dir, "exim.pid")],
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "exim.out"), "wb"),
                                     stderr=subprocess.STDOUT)
        _live.append(self)
        wait_for(lambda: self.proc.poll() is None and _listening(self.port), 20,
                 what=f"exim listening on {self.port}")

    def mainlog(self):
        try:
            with open(os.path.join(self.dir, "log", "mainlog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc)
            self.proc = None
        if self in _live:
            _live.remove(self)

    def cleanup(self):
        self.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module", params=["unix", "inet"])
def exim(request, auth_server):
    if not os.access(EXIM, os.X_OK):
        pytest.skip(f"{EXIM} not present: run tests/install-exim.sh (optional Exim test)")
    if os.geteuid() != 0:
        pytest.skip("a private Exim daemon needs root")
    spec = (auth_server.client_socket if request.param == "unix"
            else f"127.0.0.1 {auth_server.inet_port}")
    ex = Exim(spec)
    try:
        ex.start()
        yield ex
    finally:
        ex.cleanup()


def test_exim_auth_plain_ok(exim):
    out = swaks(exim.port, *auth_args("PLAIN", "alice", "alicepw"), "--quit-after", "AUTH")
    assert_reply(out, r"235 Authentication succeeded")


def test_exim_auth_login_ok(exim):
    """Exim sends `resp=` empty for LOGIN with VERSION 1 0: no initial
    response, so the server must prompt for the user name."""
    out = swaks(exim.port, *auth_args("LOGIN", "bob", "bobpw"), "--quit-after", "AUTH")
    assert_reply(out, r"334 VXNlcm5hbWU6")
    assert_reply(out, r"235 Authentication succeeded")


def test_exim_auth_wrong_password_535(exim):
    out = swaks(exim.port, *auth_args("PLAIN", "alice", "wrong"), "--quit-after", "AUTH")
    assert_reply(out, r"535 Incorrect authentication data")


def test_exim_auth_unknown_user_535(exim):
    out = swaks(exim.port, *auth_args("LOGIN", "nosuch", "x"), "--quit-after", "AUTH")
    assert_reply(out, r"535 Incorrect authentication data")


def test_exim_authenticated_message_accepted(exim):
    out = swaks(exim.port, *auth_args("PLAIN", "alice", "alicepw"),
                "--from", "alice@example.test", "--to", "someone@example.net")
    assert_reply(out, r"250 OK id=")
    wait_for(lambda: re.search(r"<= alice@example\.test .*A=dovecot_plain:alice",
                               exim.mainlog()), 10,
             what="exim mainlog line with A=dovecot_plain:alice")


def test_exim_relay_denied_without_auth(exim):
    out = swaks(exim.port, "--from", "x@example.test", "--to", "someone@example.net",
                "--quit-after", "RCPT")
    assert_reply(out, r"550 relay not permitted")
