"""userdb passwd (NSS getpwnam_r) and passdb passwd / shadow end to end:
a system user's fields, an unknown user, parallel lookups; then, with
cwrap's nss_wrapper (LD_PRELOAD=libnss_wrapper.so and a private passwd
file, nothing in /etc touched), passdb passwd with a crypt() hash: right
and wrong password, a locked account. passdb shadow (nss_wrapper has no
shadow): root's locked entry and an unknown user. The same tests run
against Dovecot (ROOST_TEST_TARGET=dovecot)."""
import os
import pwd
import re
import subprocess

import pytest

import authproto
from conftest import BUILD_DIR, TARGET, AuthServer


@pytest.fixture(scope="module")
def passwd_server():
    server = AuthServer()
    text = re.sub(r"userdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  "userdb {\n  driver = passwd\n}", server.config_text())
    assert "driver = passwd\n" in text
    server.write_config(text)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def lookup(server, user):
    with authproto.MasterConn(server.master_socket) as m:
        m.handshake()
        return m.user(user)


@pytest.mark.parametrize("name", ["root", "daemon", "nobody"])
def test_system_user(passwd_server, name):
    pw = pwd.getpwnam(name)
    f = lookup(passwd_server, name)
    assert f[0] == "USER" and f[2] == name, f
    d = authproto.fields_dict(f[3:])
    assert d.get("uid") == str(pw.pw_uid), f
    assert d.get("gid") == str(pw.pw_gid), f
    assert d.get("home") == pw.pw_dir, f
    assert d.get("system_groups_user") == name, f


def test_unknown_user(passwd_server):
    f = lookup(passwd_server, "no-such-system-user-rt")
    assert f[0] == "NOTFOUND", f


def test_many_lookups_in_parallel(passwd_server):
    """Lookups run on worker threads: many at once all get answered."""
    conns = []
    try:
        for i in range(20):
            m = authproto.MasterConn(passwd_server.master_socket)
            m.handshake()
            m.send_line("USER", str(i + 1), "root" if i % 2 == 0 else "nobody-rt-x",
                        "service=doveadm")
            conns.append(m)
        for i, m in enumerate(conns):
            f = m.read_fields()
            assert f[0] == ("USER" if i % 2 == 0 else "NOTFOUND"), f
    finally:
        for m in conns:
            m.close()


NSS_WRAPPER_LIB = "libnss_wrapper.so"


def have_nss_wrapper():
    # not registered with ldconfig: look where Debian puts it
    return os.path.exists(f"/usr/lib/x86_64-linux-gnu/{NSS_WRAPPER_LIB}")


def sanitizer_build():
    if TARGET != "roost" or not os.path.exists(os.path.join(BUILD_DIR, "roost-auth")):
        return False
    out = subprocess.run(["ldd", os.path.join(BUILD_DIR, "roost-auth")],
                         capture_output=True, text=True).stdout
    return "libasan" in out


def crypt_sha512(password):
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def nss_server():
    if not have_nss_wrapper():
        pytest.skip("needs libnss-wrapper")
    if sanitizer_build():
        pytest.skip("nss_wrapper (RTLD_DEEPBIND) doesn't work under AddressSanitizer")
    server = AuthServer()
    passwd = os.path.join(server.dir, "nss-passwd")
    group = os.path.join(server.dir, "nss-group")
    with open(passwd, "w") as f:
        f.write(f"carol:{crypt_sha512('carolpw')}:2001:2001:Carol:/home/carol:/bin/sh\n"
                "locked:!$6$x$y:2002:2002:Locked:/home/locked:/bin/sh\n"
                "nopass::2003:2003::/home/nopass:/bin/sh\n")
    with open(group, "w") as f:
        f.write("carol:x:2001:\nlocked:x:2002:\nnopass:x:2003:\n")
    os.chmod(passwd, 0o644)
    os.chmod(group, 0o644)
    env = {"LD_PRELOAD": NSS_WRAPPER_LIB, "NSS_WRAPPER_PASSWD": passwd,
           "NSS_WRAPPER_GROUP": group}
    server.env = env
    text = server.config_text()
    text = re.sub(r"passdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  "passdb {\n  driver = passwd\n}", text)
    text = re.sub(r"userdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  "userdb {\n  driver = passwd\n}", text)
    if server.target == "dovecot":
        text += "import_environment = TZ " + " ".join(
            f"{k}={v}" for k, v in env.items()) + "\n"
    server.write_config(text)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def plain(server, user, password):
    with authproto.ClientConn(server.client_socket) as c:
        c.handshake()
        return c.plain(user, password)


def test_passdb_passwd_crypt(nss_server):
    f = plain(nss_server, "carol", "carolpw")
    assert f[0] == "OK" and "user=carol" in f, f
    f = plain(nss_server, "carol", "wrong")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    assert plain(nss_server, "nosuchuser-rt", "x")[0] == "FAIL"


@pytest.mark.parametrize("user", ["locked", "nopass"])
def test_passdb_passwd_locked(nss_server, user):
    mark = nss_server.log_mark()
    f = plain(nss_server, user, "")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    if nss_server.target == "roost":
        nss_server.wait_log(mark, r"account is locked")


def test_userdb_passwd_wrapped(nss_server):
    f = lookup(nss_server, "carol")
    assert f[0] == "USER", f
    d = authproto.fields_dict(f[3:])
    assert (d.get("uid"), d.get("gid"), d.get("home")) == ("2001", "2001", "/home/carol"), f


@pytest.fixture(scope="module")
def shadow_server():
    server = AuthServer()
    text = re.sub(r"passdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  "passdb {\n  driver = shadow\n}", server.config_text())
    server.write_config(text)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_passdb_shadow(shadow_server):
    out = subprocess.run(["getent", "shadow", "root"], capture_output=True, text=True).stdout
    root = out.split(":")[1] if out.count(":") >= 2 else None
    f = plain(shadow_server, "root", "x")
    assert f[0] == "FAIL", f
    if root is not None and root[:1] in ("*", "!", ""):
        assert "code=temp_fail" not in f, f
    assert plain(shadow_server, "nosuchuser-rt", "x")[0] == "FAIL"
