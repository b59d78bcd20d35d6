"""Dovecot's own admin client against the server under test, unchanged:
`doveadm auth test` (client protocol), `doveadm user` (USER and LIST on the
userdb/master socket), `doveadm auth lookup` (PASS). roostadm must behave
the same (output and exit codes), so every check also runs with roostadm
(required for the roost target; skipped for the dovecot target when roost is
not built).

doveadm is run with `-c <minimal config>` so that /etc/dovecot/dovecot.conf
plays no part (it may be absent or broken on the test machine).
"""
import os
import subprocess

import pytest

from conftest import TARGET, roost_binary, roost_binary_or_none

EX_NOUSER = 67       # doveadm: userdb/passdb lookup found no such user
EX_TEMPFAIL = 75     # doveadm: lookup failed (e.g. wrong socket type)
EX_NOPERM = 77       # doveadm auth test: authentication failed


@pytest.fixture(scope="module")
def doveadm_conf(auth_server):
    path = os.path.join(auth_server.dir, "doveadm.conf")
    with open(path, "w") as f:
        f.write(f"# only for doveadm run by the tests\nbase_dir = {auth_server.dir}/doveadm-run\n")
    return path


@pytest.fixture(params=["doveadm", "roostadm"])
def adm(request, doveadm_conf):
    """Function running the admin tool: adm(*args) -> CompletedProcess."""
    if request.param == "doveadm":
        base = ["doveadm", "-c", doveadm_conf]
    elif TARGET == "roost":
        base = [roost_binary("roostadm")]
    else:
        path = roost_binary_or_none("roostadm")
        if path is None:
            pytest.skip("roostadm not built (target is dovecot)")
        base = [path]

    def run(*args):
        r = subprocess.run(base + list(args), capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        r.cmdline = " ".join(base + list(args))
        return r
    run.tool = request.param
    return run


def explain(r):
    return f"$ {r.cmdline}\nexit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def field_lines(stdout):
    """`doveadm user` prints 'field<TAB>value' lines after a header."""
    out = {}
    for line in stdout.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out[k] = v
    return out


def test_auth_test_success(auth_server, adm):
    r = adm("auth", "test", "-a", auth_server.client_socket, "alice", "alicepw")
    assert r.returncode == 0, explain(r)
    assert "passdb: alice auth succeeded" in r.stdout.splitlines(), explain(r)
    assert "  user=alice" in r.stdout.splitlines(), explain(r)


def test_auth_test_wrong_password(auth_server, adm):
    r = adm("auth", "test", "-a", auth_server.client_socket, "alice", "wrong")
    assert r.returncode == EX_NOPERM, explain(r)
    assert "passdb: alice auth failed" in r.stdout.splitlines(), explain(r)


def test_auth_test_unknown_user(auth_server, adm):
    r = adm("auth", "test", "-a", auth_server.client_socket, "nosuch", "x")
    assert r.returncode == EX_NOPERM, explain(r)
    assert "passdb: nosuch auth failed" in r.stdout.splitlines(), explain(r)


def test_auth_test_with_service(auth_server, adm):
    r = adm("auth", "test", "-a", auth_server.client_socket, "-x", "service=smtp",
            "bob", "bobpw")
    assert r.returncode == 0, explain(r)
    assert "passdb: bob auth succeeded" in r.stdout.splitlines(), explain(r)


@pytest.mark.parametrize("which", ["userdb", "master"])
def test_user_prints_userdb_fields(auth_server, adm, which):
    sock = auth_server.userdb_socket if which == "userdb" else auth_server.master_socket
    r = adm("user", "-a", sock, "alice")
    assert r.returncode == 0, explain(r)
    f = field_lines(r.stdout)
    assert f.get("uid") == "1001", explain(r)
    assert f.get("gid") == "1001", explain(r)
    assert f.get("home") == "/home/alice", explain(r)
    assert f.get("quota_rule") == "*:storage=1G", explain(r)


def test_user_single_field(auth_server, adm):
    r = adm("user", "-a", auth_server.userdb_socket, "-f", "home", "bob")
    assert r.returncode == 0, explain(r)
    assert r.stdout == "/home/bob\n", explain(r)


def test_user_unknown(auth_server, adm):
    r = adm("user", "-a", auth_server.userdb_socket, "nosuch")
    assert r.returncode == EX_NOUSER, explain(r)
    assert "userdb lookup: user nosuch doesn't exist" in r.stdout + r.stderr, explain(r)


def test_user_list_with_mask(auth_server, adm):
    """A mask with wildcards makes doveadm iterate (LIST) instead of USER."""
    r = adm("user", "-a", auth_server.userdb_socket, "*")
    assert r.returncode == 0, explain(r)
    assert sorted(r.stdout.split()) == ["alice", "bob"], explain(r)
    r = adm("user", "-a", auth_server.userdb_socket, "a*")
    assert r.returncode == 0 and r.stdout.split() == ["alice"], explain(r)


def test_auth_lookup_passdb(auth_server, adm):
    r = adm("auth", "lookup", "-a", auth_server.userdb_socket, "alice")
    assert r.returncode == 0, explain(r)
    assert "passdb: alice" in r.stdout.splitlines(), explain(r)
    assert any(l.split() == ["user", ":", "alice"] for l in r.stdout.splitlines()), explain(r)
    r = adm("auth", "lookup", "-a", auth_server.userdb_socket, "nosuch")
    assert r.returncode == EX_NOUSER, explain(r)
    assert "passdb lookup: user nosuch doesn't exist" in r.stdout + r.stderr, explain(r)


def test_user_on_client_socket_is_detected(auth_server, adm):
    """The client socket sends MECH before SPID: doveadm knows it is the
    wrong socket type and says so (exit 75)."""
    r = adm("user", "-a", auth_server.client_socket, "alice")
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert "is an auth client socket" in r.stderr, explain(r)


def test_auth_test_on_userdb_socket_fails(auth_server, adm):
    """The userdb socket sends no MECH/DONE: an auth client cannot use it."""
    r = adm("auth", "test", "-a", auth_server.userdb_socket, "alice", "alicepw")
    assert r.returncode == EX_TEMPFAIL, explain(r)
    assert "passdb: alice auth succeeded" not in r.stdout, explain(r)
