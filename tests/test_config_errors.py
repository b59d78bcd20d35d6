"""Broken configurations: roostd and roost-auth must refuse to start, exit
non-zero, and name FILE:LINE on stderr (DESIGN.md contract 3).

With ROOST_TEST_TARGET=dovecot the same files are fed to `doveconf -n`
instead, which checks that every input here is really an error for Dovecot
2.3 too (Dovecot words it "... in configuration file FILE line N: ...").
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import TARGET, make_tmpdir, roost_binary, stop_pid

# name -> (config lines, lines the error may point at, text roost must also say)
# Line numbers are 1-based; line 1 is always the base_dir line added below.
CASES = {
    "unknown_setting": (["auth_mechanisms = plain", "frobnicate_widgets = yes"],
                        {3}, "frobnicate_widgets"),
    "typo_setting": (["auth_mechanism = plain"], {2}, "auth_mechanisms"),
    "missing_include": (["auth_mechanisms = plain", "!include {dir}/does-not-exist.conf"],
                        {3}, None),
    "unclosed_section": (["passdb {", "  driver = passwd-file",
                          "  args = scheme=PLAIN {dir}/users", ""],
                         # the section's first line, or where the file ends
                         {2, 5, 6}, None),
    "unexpected_close": (["auth_mechanisms = plain", "}"], {3}, None),
    "bad_value": (["auth_failure_delay = soon"], {2}, "auth_failure_delay"),
    "unknown_in_section": (["passdb {", "  driver = passwd-file", "  drvier_args = x", "}"],
                           {4}, "drvier_args"),
}


def write_case(d, name):
    lines, lines_ok, must_say = CASES[name]
    path = os.path.join(d, f"{name}.conf")
    with open(path, "w") as f:
        f.write(f"base_dir = {d}/run\n")
        for l in lines:
            f.write(l.replace("{dir}", d) + "\n")
    return path, lines_ok, must_say


def write_include_case(d):
    inc = os.path.join(d, "included.conf")
    with open(inc, "w") as f:
        f.write("auth_mechanisms = plain\n\nbogus_thing = 1\n")
    path = os.path.join(d, "include_error.conf")
    with open(path, "w") as f:
        f.write(f"base_dir = {d}/run\n!include {inc}\n")
    return path, inc


@pytest.fixture
def tmpdir_short():
    d = make_tmpdir("rc.")
    with open(os.path.join(d, "users"), "w") as f:
        f.write("alice:alicepw:1001:1001::/home/alice::\n")
    yield d
    if not os.environ.get("KEEP"):
        shutil.rmtree(d, ignore_errors=True)


def run_refusing(cmd, timeout=10):
    """Run a daemon that must refuse to start; kill it if it does not exit."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_pid(p.pid, p)
        out, err = p.communicate()
        pytest.fail(f"{' '.join(cmd)} accepted a broken config and kept running "
                    f"(killed after {timeout}s)\nstderr:\n{err}")
    return p.returncode, out, err


def check_file_line(path, lines_ok, err, roost_style):
    if roost_style:
        m = re.search(re.escape(path) + r":(\d+):", err)
        assert m, f"no '{path}:LINE:' in stderr:\n{err}"
    else:
        m = re.search(re.escape(path) + r"(?: line |:)(\d+)", err)
        assert m, f"no '{path} line N' in doveconf's stderr:\n{err}"
    assert int(m.group(1)) in lines_ok, (
        f"error points at line {m.group(1)}, expected one of {sorted(lines_ok)}:\n{err}")


def commands(path):
    return [[roost_binary("roostd"), "-F", "-c", path],
            [roost_binary("roost-auth"), "-c", path]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_error_names_file_and_line(tmpdir_short, name):
    path, lines_ok, must_say = write_case(tmpdir_short, name)
    if TARGET == "dovecot":
        rc, out, err = run_refusing(["doveconf", "-n", "-c", path])
        assert rc != 0, f"doveconf accepted {name}:\n{out}"
        check_file_line(path, lines_ok, err, roost_style=False)
        return
    for cmd in commands(path):
        rc, out, err = run_refusing(cmd)
        assert rc != 0, f"{cmd[0]} exited 0 on a broken config ({name})"
        check_file_line(path, lines_ok, err, roost_style=True)
        if must_say:
            assert must_say in err, f"{cmd[0]}: stderr does not mention {must_say!r}:\n{err}"
        assert not os.path.exists(os.path.join(tmpdir_short, "run", "auth-client")), (
            f"{cmd[0]} created its sockets before refusing the config")


def test_config_error_in_included_file(tmpdir_short):
    path, inc = write_include_case(tmpdir_short)
    if TARGET == "dovecot":
        rc, out, err = run_refusing(["doveconf", "-n", "-c", path])
        assert rc != 0
        check_file_line(inc, {3}, err, roost_style=False)
        return
    for cmd in commands(path):
        rc, out, err = run_refusing(cmd)
        assert rc != 0, f"{cmd[0]} exited 0 on a broken included config"
        check_file_line(inc, {3}, err, roost_style=True)
        assert "bogus_thing" in err, err


def test_missing_config_file(tmpdir_short):
    path = os.path.join(tmpdir_short, "nonexistent.conf")
    if TARGET == "dovecot":
        rc, out, err = run_refusing(["doveconf", "-n", "-c", path])
        assert rc != 0 and path in err, err
        return
    for cmd in commands(path):
        rc, out, err = run_refusing(cmd)
        assert rc != 0, f"{cmd[0]} exited 0 without a config file"
        assert path in err, f"{cmd[0]}: stderr does not name {path}:\n{err}"
