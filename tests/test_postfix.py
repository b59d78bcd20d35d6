"""Postfix smtpd doing SMTP AUTH through the server under test
(smtpd_sasl_type = dovecot), as an MTA admin would configure it.

One private Postfix instance per module (services.md section 8: no chroot,
loopback listeners on free ports, log file in the temp dir), with three
smtpd listeners:
  unix       smtpd_sasl_path = the server's auth-client socket
  inet       smtpd_sasl_path = inet:127.0.0.1:PORT (the server's inet_listener)
  noplain    unix socket, smtpd_sasl_security_options = noanonymous, noplaintext
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import make_tmpdir, stop_pid, wait_for, _live

POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"


def _listening(port):
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                         text=True).stdout
    return "LISTEN" in out


class Postfix:
    def __init__(self, auth_server):
        from conftest import free_port
        self.dir = make_tmpdir("pf.")
        self.etc = os.path.join(self.dir, "etc")
        self.maillog = os.path.join(self.dir, "maillog")
        self.ports = {"unix": free_port(), "inet": free_port(), "noplain": free_port()}
        self.proc = None
        self.auth = auth_server

    def postconf(self, *args):
        subprocess.run(["postconf", "-c", self.etc, *args], check=True,
                       capture_output=True, text=True)

    def start(self):
        os.makedirs(self.etc)
        os.makedirs(os.path.join(self.dir, "queue"))
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        shutil.copy("/etc/postfix/master.cf", os.path.join(self.etc, "master.cf"))
        # NB: a comment in main.cf must start the line
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""\
compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.example.test
mydestination =
mynetworks =
alias_maps =
alias_database =
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {self.auth.client_socket}
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
""")
        self.postconf("-F", "*/*/chroot = n")
        self.postconf("-M#", "smtp/inet")
        p = self.ports
        self.postconf("-Me", f"127.0.0.1:{p['unix']}/inet = 127.0.0.1:{p['unix']} "
                      f"inet n - n - - smtpd")
        self.postconf("-Me", f"127.0.0.1:{p['inet']}/inet = 127.0.0.1:{p['inet']} "
                      f"inet n - n - - smtpd -o smtpd_sasl_path=inet:127.0.0.1:"
                      f"{self.auth.inet_port} -o syslog_name=postfix/inetauth")
        self.postconf("-Me", f"127.0.0.1:{p['noplain']}/inet = 127.0.0.1:{p['noplain']} "
                      f"inet n - n - - smtpd -o smtpd_sasl_security_options="
                      f"noanonymous,noplaintext -o syslog_name=postfix/noplain")
        r = subprocess.run(["postfix", "-c", self.etc, "check"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, f"postfix check failed:\n{r.stdout}{r.stderr}"
        self.proc = subprocess.Popen([POSTFIX_MASTER, "-c", self.etc],
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "master.out"), "wb"),
                                     stderr=subprocess.STDOUT)
        _live.append(self)
        for port in p.values():
            wait_for(lambda: self.proc.poll() is None and _listening(port), 30,
                     what=f"postfix listening on {port}")

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

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


@pytest.fixture(scope="module")
def postfix(auth_server):
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root")
    for tool in ("postconf", "swaks", POSTFIX_MASTER):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not installed (scripts/install-deps.sh --test)")
    pf = Postfix(auth_server)
    try:
        pf.start()
        yield pf
    finally:
        pf.cleanup()


def swaks(port, *args):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--timeout", "20",
                        *args], capture_output=True, text=True, timeout=90)
    return r.stdout + r.stderr


def server_replies(out):
    """swaks marks server lines with '<-' (ok) or '<~'/'<**' (errors)."""
    return [re.sub(r"^<[-*~]+ +", "", l) for l in out.splitlines()
            if re.match(r"^<[-*~]+ ", l)]


def assert_reply(out, regex):
    assert any(re.match(regex, l) for l in server_replies(out)), (
        f"no server reply matching {regex!r}; swaks transcript:\n{out}")


def auth_args(mech, user, password):
    return ["--auth", mech, "--auth-user", user, "--auth-password", password]


@pytest.fixture(params=["unix", "inet"])
def port(request, postfix):
    """The smtpd listener that reaches the auth server by unix socket / TCP."""
    return postfix.ports[request.param]


def test_postfix_advertises_plain_login(port):
    out = swaks(port, "--quit-after", "EHLO")
    assert_reply(out, r"250[ -]AUTH PLAIN LOGIN$")


def test_postfix_auth_plain_ok(port):
    out = swaks(port, *auth_args("PLAIN", "alice", "alicepw"), "--quit-after", "AUTH")
    assert_reply(out, r"235 2\.7\.0 Authentication successful")


def test_postfix_auth_login_ok(port):
    out = swaks(port, *auth_args("LOGIN", "alice", "alicepw"), "--quit-after", "AUTH")
    assert_reply(out, r"334 VXNlcm5hbWU6")
    assert_reply(out, r"334 UGFzc3dvcmQ6")
    assert_reply(out, r"235 2\.7\.0 Authentication successful")


def test_postfix_auth_wrong_password_535(port):
    out = swaks(port, *auth_args("PLAIN", "alice", "wrong"), "--quit-after", "AUTH")
    assert_reply(out, r"535 5\.7\.8 Error: authentication failed")


def test_postfix_auth_login_wrong_password_535(port):
    out = swaks(port, *auth_args("LOGIN", "bob", "wrong"), "--quit-after", "AUTH")
    assert_reply(out, r"535 5\.7\.8 Error: authentication failed")


def test_postfix_auth_unknown_user_535(port):
    out = swaks(port, *auth_args("PLAIN", "nosuch", "x"), "--quit-after", "AUTH")
    assert_reply(out, r"535 5\.7\.8 Error: authentication failed")


def test_postfix_authenticated_relay_250(port, postfix):
    out = swaks(port, *auth_args("PLAIN", "alice", "alicepw"), "--from",
                "alice@example.test", "--to", "someone@example.net", "--quit-after", "RCPT")
    assert_reply(out, r"250 2\.1\.5")
    # postfix logs the name from the server's OK user= field
    wait_for(lambda: re.search(r"sasl_method=PLAIN, sasl_username=alice\b", postfix.log()),
             10, what="postfix log line with sasl_username=alice")


def test_postfix_unauthenticated_relay_denied(port):
    out = swaks(port, "--from", "x@example.test", "--to", "someone@example.net",
                "--quit-after", "RCPT")
    assert_reply(out, r"554 5\.7\.1")


def test_postfix_failure_logged_with_username(postfix):
    swaks(postfix.ports["unix"], *auth_args("PLAIN", "bob", "badpw"), "--quit-after", "AUTH")
    wait_for(lambda: re.search(r"SASL PLAIN authentication failed: .*sasl_username=bob",
                               postfix.log()), 10,
             what="postfix log line for the failed AUTH with sasl_username=bob")


def test_postfix_noplaintext_hides_auth(postfix):
    """Both mechanisms carry the `plaintext` MECH flag, so with noplaintext
    Postfix has nothing left to offer: it never advertises AUTH (this
    smtpd even gives up with "no SASL authentication mechanisms"). A server
    that forgot the flag would get AUTH PLAIN advertised here."""
    out = swaks(postfix.ports["noplain"], "--quit-after", "EHLO")
    assert not any(re.match(r"250[ -]AUTH", l) for l in server_replies(out)), out
    wait_for(lambda: re.search(r"postfix/noplain/smtpd.*no SASL authentication mechanisms",
                               postfix.log()), 10,
             what="postfix/noplain log: no SASL authentication mechanisms")


def test_postfix_auth_after_server_handled_many(port):
    """Postfix keeps one auth connection per smtpd process; several
    sessions in a row on it keep working (ids 1, 2, 3 ... on one socket)."""
    for i in range(3):
        out = swaks(port, *auth_args("PLAIN", "bob", "bobpw"), "--quit-after", "AUTH")
        assert_reply(out, r"235 ")
        out = swaks(port, *auth_args("PLAIN", "bob", "nope"), "--quit-after", "AUTH")
        assert_reply(out, r"535 ")
