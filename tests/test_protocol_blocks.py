"""protocol NAME { } blocks in the auth configuration: one roost-auth serves
several services with their own passdbs, userdbs and settings (Dovecot 2.3
semantics, checked against Dovecot with ROOST_TEST_TARGET=dovecot): the
block's passdbs/userdbs come before the global ones, its settings replace
the global ones for requests with that service=."""
import os
import subprocess

import pytest

import authproto
from conftest import TARGET, AuthServer, roost_binary


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


@pytest.fixture(scope="module")
def server():
    s = AuthServer(mechanisms="plain login")
    write(os.path.join(s.dir, "imapusers"), "imaponly:{PLAIN}imappw\n")
    write(os.path.join(s.dir, "deny-smtp"), "bob\n")
    write(os.path.join(s.dir, "pop3users"), "alice:{PLAIN}pop3pw::::::\n")
    text = s.config_text()
    text += f"""
protocol imap {{
  passdb {{
    driver = passwd-file
    args = scheme=PLAIN {s.dir}/imapusers
  }}
  userdb {{
    driver = static
    args = uid=4242 gid=4242 home=/imap/%u allow_all_users=yes
  }}
  auth_mechanisms = plain login cram-md5
}}
protocol smtp {{
  passdb {{
    driver = passwd-file
    args = {s.dir}/deny-smtp
    deny = yes
  }}
}}
protocol pop3 {{
  passdb {{
    driver = passwd-file
    args = scheme=PLAIN {s.dir}/pop3users
  }}
  auth_username_format = %Lu
}}
"""
    s.write_config(text)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def plain(s, user, password, service):
    with authproto.ClientConn(s.client_socket) as c:
        c.handshake()
        rid = c.auth("PLAIN", resp=authproto.plain_resp(user, password), service=service)
        f = c.reply()
        assert f[1] == str(rid), f
        return f[0]


def test_protocol_passdb_first_then_global(server):
    # only in the imap block's passdb
    assert plain(server, "imaponly", "imappw", "imap") == "OK"
    assert plain(server, "imaponly", "imappw", "smtp") == "FAIL"
    assert plain(server, "imaponly", "imappw", "pop3") == "FAIL"
    # global users work for every service, after the block's passdbs
    for service in ("imap", "smtp", "pop3", "lmtp"):
        assert plain(server, "alice", "alicepw", service) == "OK", service


def test_protocol_deny(server):
    assert plain(server, "bob", "bobpw", "smtp") == "FAIL"
    assert plain(server, "bob", "bobpw", "imap") == "OK"


def test_protocol_passdb_order(server):
    # pop3's own passdb is asked first: its password wins, and the global
    # one still works after it (result_failure = continue)
    assert plain(server, "alice", "pop3pw", "pop3") == "OK"
    assert plain(server, "alice", "pop3pw", "imap") == "FAIL"
    assert plain(server, "alice", "alicepw", "pop3") == "OK"


def test_protocol_mechanisms_are_global(server):
    """As Dovecot 2.3's auth server: the handshake's (global) mechanisms
    are what AUTH accepts; a protocol's auth_mechanisms is for its login
    process. cram-md5 only in the imap block: the connection is closed."""
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        assert "CRAM-MD5" not in c.mechs if hasattr(c, "mechs") else True
        c.auth("CRAM-MD5", service="imap")
        with pytest.raises(authproto.Closed):
            c.reply()


def test_protocol_userdb(server):
    with authproto.MasterConn(server.master_socket) as m:
        m.handshake()
        imap = m.user("imaponly", service="imap")
        assert imap[0] == "USER" and "uid=4242" in imap, imap
        other = m.user("alice", service="lmtp")
        assert other[0] == "USER" and "uid=1001" in other, other


def test_config_check(roost_only, tmp_path):
    """roostd -n prints the blocks; unsupported forms are file:line errors."""
    conf = tmp_path / "r.conf"
    base = f"""base_dir = {tmp_path}/run
passdb {{
  driver = static
  args = password=x
}}
"""
    conf.write_text(base + "protocol imap {\n  auth_mechanisms = plain cram-md5\n}\n")
    out = subprocess.run([roost_binary("roostd"), "-n", "-c", str(conf)],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert "protocol imap {\n  auth_mechanisms = plain cram-md5\n}\n" in out.stdout
    for body, err in (
            ("protocol !smtp {\n  auth_mechanisms = plain\n}\n", "protocol section needs one protocol name"),
            ("protocol imap {\n  mail_location = maildir:~/Maildir\n}\n",
             "mail_location inside protocol imap { }"),
            ("protocol imap {\n  auth_mechanisms = plain foo\n}\n", "foo"),
            ("protocol imap {\n}\nprotocol imap {\n}\n", "given twice")):
        conf.write_text(base + body)
        out = subprocess.run([roost_binary("roostd"), "-n", "-c", str(conf)],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode != 0, body
        assert err in out.stderr, (body, out.stderr)
        assert str(conf) + ":" in out.stderr, out.stderr
