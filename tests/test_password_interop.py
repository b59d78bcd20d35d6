"""Password scheme interoperability: roostadm pw against Dovecot's doveadm pw.

(a) every row of shared/vectors/password-schemes.tsv (hashes made by
    Dovecot 2.3's doveadm) verifies with `roostadm pw -t` as expected;
(b) for every scheme roost can generate, hashes made by `roostadm pw -s`
    verify with `doveadm pw -t` and hashes made by `doveadm pw -s` verify
    with `roostadm pw -t`;
(c) for malformed hashes and bad usage, roostadm prints the same messages
    and exits with the same codes as doveadm.

Environment: ROOST_BUILD_DIR (where `make` ran; default the repo root) holds
roostadm; ROOST_VECTORS_DIR (default <repo>/../shared/vectors) holds the
TSV. (b) and (c) skip only when doveadm is not installed.
Run: /usr/bin/python3 -m pytest -q tests/test_password_interop.py
"""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD_DIR = os.path.abspath(os.environ.get("ROOST_BUILD_DIR") or REPO)
ROOSTADM = os.path.join(BUILD_DIR, "roostadm")
VECTORS_DIR = os.environ.get("ROOST_VECTORS_DIR") or os.path.join(
    REPO, "..", "shared", "vectors")
TSV = os.path.join(VECTORS_DIR, "password-schemes.tsv")
DOVEADM = shutil.which("doveadm") or (
    "/usr/bin/doveadm" if os.access("/usr/bin/doveadm", os.X_OK) else None)

# doveadm exits 75 (EX_TEMPFAIL) on "Fatal:" errors, including mismatches
EXIT_FAILURE = 75
TIMEOUT = 120  # ARGON2 with large memory is slow; doveadm ignores SIGTERM

PASSWORDS = ["password", "correct horse battery staple", "pässwörd€"]
DIGEST_MD5_USER = "user@example.com"


def load_rows():
    if not os.path.exists(TSV):
        pytest.fail(f"test vectors not found: {TSV} (set ROOST_VECTORS_DIR)")
    rows = []
    with open(TSV, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        fields = line.split("\t")
        assert len(fields) == 5, f"{TSV}:{n}: expected 5 fields"
        scheme, user, password, hashed, expected = fields
        assert expected in ("match", "nomatch"), f"{TSV}:{n}"
        rows.append(pytest.param(scheme, user, password, hashed,
                                 expected == "match",
                                 id=f"{n}-{scheme}-{expected}"))
    return rows


def run(argv, stdin=b""):
    """Run a command with bytes arguments; return (rc, stdout, stderr)."""
    args = [a.encode("utf-8") if isinstance(a, str) else a for a in argv]
    p = subprocess.run(args, input=stdin, capture_output=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def roostadm(*args, stdin=b""):
    if not os.access(ROOSTADM, os.X_OK):
        pytest.fail(f"roostadm not built: {ROOSTADM} "
                    "(run make, or set ROOST_BUILD_DIR)")
    return run([ROOSTADM, "pw", *args], stdin)


def doveadm(*args, stdin=b""):
    if DOVEADM is None:
        pytest.skip("doveadm not installed (apt-get install dovecot-core): "
                    "cannot cross-check with Dovecot")
    return run([DOVEADM, "pw", *args], stdin)


def user_args(scheme, user=DIGEST_MD5_USER):
    return ["-u", user] if scheme.upper().startswith("DIGEST-MD5") else []


# ------------------------------------------------------------- (a) vectors

@pytest.mark.parametrize("scheme,user,password,hashed,match", load_rows())
def test_vector(scheme, user, password, hashed, match):
    args = ["-t", hashed, "-p", password]
    if user:
        args += ["-u", user]
    rc, out, err = roostadm(*args)
    if match:
        assert (rc, err) == (0, ""), f"{hashed!r} did not verify: {err}"
        assert out == f"{hashed} (verified)\n"
    else:
        assert rc == EXIT_FAILURE, f"{hashed!r} matched {password!r}"
        assert out == ""
        assert err == ("Fatal: reverse password verification check failed: "
                       "Password mismatch\n")


def test_vector_count():
    assert len(load_rows()) == 180


# ------------------------------------------------- (b) generate both ways

def roost_schemes():
    rc, out, err = roostadm("-l")
    assert rc == 0, err
    assert out.endswith(" \n")
    return out.split()


def test_scheme_list_matches_doveadm():
    rc, out, _ = doveadm("-l")
    assert rc == 0
    rrc, rout, _ = roostadm("-l")
    assert rrc == 0
    assert rout == out


# Schemes whose doveadm output doveadm itself cannot verify: doveadm 2.3
# writes {PLAIN-TRUNC}<password> without the "<N>-" prefix its verifier
# requires. Both tools must reject such a hash the same way.
DOVEADM_UNVERIFIABLE = {"PLAIN-TRUNC"}


def generatable():
    return roost_schemes()


@pytest.mark.parametrize("password", PASSWORDS)
def test_roost_hashes_verify_with_doveadm(password):
    failures = []
    for scheme in generatable():
        rc, out, err = roostadm("-s", scheme, "-p", password,
                                *user_args(scheme))
        assert rc == 0, f"roostadm pw -s {scheme}: {err}"
        hashed = out.rstrip("\n")
        assert hashed.startswith("{" + scheme + "}"), hashed
        drc, dout, derr = doveadm("-t", hashed, "-p", password,
                                  *user_args(scheme))
        if drc != 0 or dout != f"{hashed} (verified)\n":
            failures.append(f"{scheme}: {hashed}: rc={drc} {derr.strip()}")
            continue
        # and a wrong password is rejected by doveadm (changed first
        # byte: DES and bcrypt ignore bytes at the end, PLAIN-TRUNC
        # accepts a longer password with the stored prefix)
        drc, _, derr = doveadm("-t", hashed, "-p", "X" + password,
                               *user_args(scheme))
        if drc != EXIT_FAILURE:
            failures.append(f"{scheme}: wrong password accepted "
                            f"by doveadm for {hashed}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("password", PASSWORDS)
def test_doveadm_hashes_verify_with_roost(password):
    failures = []
    for scheme in generatable():
        drc, dout, derr = doveadm("-s", scheme, "-p", password,
                                  *user_args(scheme))
        assert drc == 0, f"doveadm pw -s {scheme}: {derr}"
        hashed = dout.rstrip("\n")
        rc, out, err = roostadm("-t", hashed, "-p", password,
                                *user_args(scheme))
        if scheme in DOVEADM_UNVERIFIABLE:
            d2 = doveadm("-t", hashed, "-p", password)
            if (rc, out, err) != d2:
                failures.append(f"{scheme}: roostadm {(rc, out, err)} "
                                f"!= doveadm {d2}")
            continue
        if rc != 0 or out != f"{hashed} (verified)\n":
            failures.append(f"{scheme}: {hashed}: rc={rc} {err.strip()}")
            continue
        rc, _, err = roostadm("-t", hashed, "-p", "X" + password,
                              *user_args(scheme))
        if rc != EXIT_FAILURE:
            failures.append(f"{scheme}: wrong password accepted for "
                            f"{hashed}")
    assert not failures, "\n".join(failures)


# encodings, rounds and user variants, both directions
VARIANTS = [
    ("SHA256.hex", []), ("SHA256.b64", []), ("PLAIN.b64", []),
    ("PLAIN.hex", []), ("SSHA.hex", []), ("SSHA512.b64", []),
    ("CRAM-MD5.b64", []), ("LDAP-MD5.hex", []), ("PLAIN-MD5.b64", []),
    ("SHA512-CRYPT.hex", []), ("SCRAM-SHA-256.b64", []), ("OTP.hex", []),
    ("DIGEST-MD5.b64", ["-u", "alice"]),
    ("DIGEST-MD5", ["-u", "a@b@example.com"]),
    ("BLF-CRYPT", ["-r", "4"]), ("CRYPT", ["-r", "6"]),
    ("SHA256-CRYPT", ["-r", "1000"]), ("SHA512-CRYPT", ["-r", "6000"]),
    ("PBKDF2", ["-r", "1000"]), ("SCRAM-SHA-1", ["-r", "5000"]),
    ("ARGON2I", ["-r", "3"]),
]


@pytest.mark.parametrize("scheme,extra", VARIANTS,
                         ids=[f"{s}{''.join(e)}" for s, e in VARIANTS])
def test_variants_both_ways(scheme, extra):
    if scheme.split(".")[0] not in roost_schemes():
        pytest.skip(f"{scheme} not compiled in")
    password = "pässwörd€"
    user = extra[extra.index("-u") + 1] if "-u" in extra else None
    verify_extra = ["-u", user] if user else []

    rc, out, err = roostadm("-s", scheme, "-p", password, *extra)
    assert rc == 0, err
    hashed = out.rstrip("\n")
    assert hashed.startswith("{" + scheme.upper() + "}")
    drc, dout, derr = doveadm("-t", hashed, "-p", password, *verify_extra)
    assert (drc, dout) == (0, f"{hashed} (verified)\n"), derr

    drc, dout, derr = doveadm("-s", scheme, "-p", password, *extra)
    assert drc == 0, derr
    hashed = dout.rstrip("\n")
    rc, out, err = roostadm("-t", hashed, "-p", password, *verify_extra)
    assert (rc, out) == (0, f"{hashed} (verified)\n"), err


def test_rounds_in_output():
    """-r reaches the hash the way doveadm puts it there."""
    for scheme, rounds, marker in [
            ("BLF-CRYPT", "4", "$2y$04$"), ("BLF-CRYPT", "2", "$2y$04$"),
            ("SHA256-CRYPT", "500", "$5$rounds=1000$"),
            ("SHA512-CRYPT", "5000", "$6$"),
            ("SHA512-CRYPT", "5001", "$6$rounds=5001$"),
            ("PBKDF2", "1234", "$1234$")]:
        rc, out, err = roostadm("-s", scheme, "-r", rounds, "-p", "x")
        assert rc == 0, err
        assert marker in out, (scheme, rounds, out)
        if scheme == "SHA512-CRYPT" and rounds == "5000":
            assert "rounds=" not in out


# ------------------------------------- (c) same messages and exit codes

SAME_OUTPUT = [
    ["-t", "{PLAIN}x", "-p", "y"],
    ["-t", "{PLAIN}x", "-p", "x"],
    ["-t", "{plain}x", "-p", "x"],
    ["-t", "{Sha.hex}11f6ad8ec52a2984abaafd7c3b516503785c2072", "-p", "x"],
    ["-s", "FOO", "-p", "x"],
    ["-t", "{FOO}x", "-p", "x"],
    ["-t", "{}x", "-p", "x"],
    ["-t", "{PLAIN.foo}x", "-p", "x"],
    ["-t", "xyz", "-p", "x"],
    ["-t", "{", "-p", "x"],
    ["-t", "", "-p", "x"],
    ["-t", "$1$k2NObV58$PInp5AO10M6PV3kg1heht/$junk", "-p", "password"],
    ["-t", "{SHA256}abc", "-p", "x"],
    ["-t", "{SHA256.hex}zz", "-p", "x"],
    ["-t", "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf9", "-p", "password"],
    ["-t", "{LDAP-MD5}X03MO1qnZdYdgyfeuILPmQ", "-p", "password"],
    ["-t", "{LDAP-MD5}X03MO1qnZdYdgyfeuILP mQ==", "-p", "password"],
    ["-t", "{LDAP-MD5}X03MO1qnZdYdgyfeuILPmR==", "-p", "password"],
    ["-t", "{SHA}AAAA", "-p", "x"],
    ["-t", "{SHA}", "-p", "x"],
    ["-t", "{SSHA}AAAA", "-p", "x"],
    ["-t", "{SMD5}AAAA", "-p", "x"],
    ["-t", "{SSHA}afb7396e14a5ce5b63bc72013a08ee1f81034c906397434c", "-p", "password"],
    ["-t", "{MD5}garbage", "-p", "password"],
    ["-t", "{MD5}5f4dcc3b5aa765d61d8327deb882cf99", "-p", "password"],
    ["-t", "{PLAIN}", "-p", ""],
    ["-t", "{CRYPT}", "-p", ""],
    ["-t", "{SHA512-CRYPT}garbage", "-p", "x"],
    ["-t", "{DES-CRYPT}$1$k2NObV58$PInp5AO10M6PV3kg1heht/", "-p", "password"],
    ["-t", "{PLAIN-TRUNC}abc", "-p", "abc"],
    ["-t", "{PLAIN-TRUNC}3-abc", "-p", "abcdef"],
    ["-t", "{PLAIN-TRUNC}3-abc", "-p", "ab"],
    ["-t", "{PLAIN-TRUNC}4-abc", "-p", "abc"],
    ["-t", "{OTP}garbage", "-p", "x"],
    ["-t", "{OTP}md6 99 TeSt 50FE1962C4965880", "-p", "This is a test."],
    ["-t", "{OTP}md5 99 TeSt 50FE1962C4965880", "-p", "This is a test."],
    ["-t", "{PBKDF2}garbage", "-p", "x"],
    ["-t", "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e6", "-p", "x"],
    ["-t", "{SCRAM-SHA-1}garbage", "-p", "x"],
    ["-t", "{SCRAM-SHA-1}0,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", "-p", "pencil"],
    ["-t", "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE", "-p", "pencil"],
    ["-t", "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y,D+CSWLOshSulAsxiupA+qs2/fTE=", "-p", "pencil"],
    ["-t", "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=,x", "-p", "pencil"],
    ["-t", "{DIGEST-MD5}3db764baa4df9e87dae6b22677532339", "-p", "password"],
    ["-t", "{DIGEST-MD5}3db764baa4df9e87dae6b22677532339", "-p", "password", "-u", "user@example.com"],
    ["-t", "{PLAIN}x", "-s", "FOO", "-p", "x"],
    ["-t", "{PLAIN}x", "-s", "DIGEST-MD5", "-p", "x"],
    ["-s", "DIGEST-MD5", "-p", "x"],
    ["-s", "DIGEST-MD5", "-u", "a@b@c", "-p", "x"],
    ["-s", "digest-md5", "-u", "", "-p", "x", "-V"],
    ["-s", "sha256.hex", "-p", "pässwörd€"],
    ["-s", "Plain.b64", "-p", "x", "-V"],
    ["-s", "PLAIN-MD4", "-p", "x"],
    ["-s", "hmac-md5", "-p", "x"],
    ["--plaintext=x", "--scheme=SHA512"],
    ["-s", "SHA", "-p", "x", "-p", "y"],
    ["-r", "99999999999999", "-p", "x"],
    ["-l"],
    ["-l", "x"],
    ["-p", "x", "-s", "sha", "a", "b"],
    ["-h"],
    ["-s"],
    ["-p"],
    ["-t"],
]


@pytest.mark.parametrize("args", SAME_OUTPUT, ids=[" ".join(a) or "-"
                                                   for a in SAME_OUTPUT])
def test_same_output_as_doveadm(args):
    expected = doveadm(*args)
    assert roostadm(*args) == expected


# password from stdin (not a terminal): one line per prompt, no prompt text
STDIN_CASES = [
    (["-s", "SHA"], b"secret\nsecret\n"),
    (["-s", "SHA"], b"secret\n"),          # second read hits EOF: mismatch
    (["-s", "SHA"], b""),
    (["-s", "PLAIN"], b"a\rb\n"),
    (["-s", "PLAIN"], b"a\nb\nc\nd\ne\nf\n"),  # three mismatches: exit 1
    (["-t", "{PLAIN}secret"], b"secret\n"),
    (["-t", "{PLAIN}secret"], b"secret"),
    (["-t", "{PLAIN}y"], b"x\n"),
]


@pytest.mark.parametrize("args,stdin", STDIN_CASES)
def test_stdin_password_same_as_doveadm(args, stdin):
    expected = doveadm(*args, stdin=stdin)
    assert roostadm(*args, stdin=stdin) == expected


def run_on_tty(argv, lines):
    """Run argv on a pseudo-terminal, typing lines one by one; return
    everything it wrote to the terminal. Each line is typed only once the
    program has turned echo off (it flushes pending input when it does),
    and the child is killed if it is not done in time."""
    import pty
    import select
    import signal
    import termios
    import time

    args = [a.encode("utf-8") for a in argv]
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execv(args[0], args)
        finally:
            os._exit(127)
    out = b""
    exited = False

    def read_some(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                return False
            out += data
            return bool(data)
        return True

    try:
        for n, line in enumerate(lines, start=1):
            # the n-th prompt is out and echo is off: safe to type
            deadline = time.monotonic() + 10
            while (len(re.findall(rb"(?:password|verify): ", out)) < n or
                   termios.tcgetattr(fd)[3] & termios.ECHO):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no password prompt: {out!r}")
                if not read_some(0.02):
                    raise AssertionError(f"exited early: {out!r}")
            os.write(fd, line)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not read_some(0.1):
                break
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                exited = True
                while read_some(0.05):
                    if not select.select([fd], [], [], 0)[0]:
                        break
                break
        else:
            raise AssertionError(f"{argv} did not finish: {out!r}")
    finally:
        if not exited:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        os.close(fd)
    return out


TTY_CASES = [
    (["-s", "SHA"], [b"secret\n", b"secret\n"]),
    (["-s", "SHA"], [b"a\n", b"b\n", b"secret\n", b"secret\n"]),
    (["-t", "{PLAIN}secret"], [b"secret\n"]),
]


@pytest.mark.parametrize("args,lines", TTY_CASES)
def test_tty_prompt_same_as_doveadm(args, lines):
    """Prompts on the terminal, no echo of the typed password."""
    if DOVEADM is None:
        pytest.skip("doveadm not installed: cannot compare prompts")
    if not os.access(ROOSTADM, os.X_OK):
        pytest.fail(f"roostadm not built: {ROOSTADM}")
    expected = run_on_tty([DOVEADM, "pw", *args], lines)
    got = run_on_tty([ROOSTADM, "pw", *args], lines)
    assert b"secret\r\n" not in got.split(b"}")[0], "password echoed"
    assert got == expected
