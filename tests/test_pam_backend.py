"""passdb pam end to end, through cwrap's pam_wrapper + pam_matrix
(services.md section 7): the server runs with LD_PRELOAD=libpam_wrapper.so
and reads its PAM service files from a private directory, so nothing in
/etc is touched. args = %s: the PAM service is the client's service name.

Services:  mail    pam_matrix (alice:alicepw, bob:bobpw)
           hang    pam_exec running a long sleep (a PAM module that hangs)
           unix    pam_unix (a user it doesn't know -> PAM_USER_UNKNOWN)
           (none)  an unknown service: no "other" file -> PAM_ABORT

Covered: right password, wrong password, unknown user, an unusable service
(temporary failure), a hanging module that stalls neither the event loop
nor other logins and times out with a logged reason (its children killed
too), max_requests (worker processes replaced), a killed worker process
replaced, cache_key caching. The same tests run against Dovecot
(ROOST_TEST_TARGET=dovecot) except the roost-only parts (timeout=,
worker processes)."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import authproto
from conftest import (BUILD_DIR, TARGET, AuthServer, descendants, proc_cmdline,
                      roost_binary, wait_for)

PAM_WRAPPER_LIB = "libpam_wrapper.so"
PAM_MATRIX = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
SECURITY = "/lib/x86_64-linux-gnu/security"
TIMEOUT = 3          # roost's timeout= for the PAM conversation
# unique, so the test can find the module's child process among all
HANG_SECS = "47.25"


def have_pam_wrapper():
    return os.path.exists(PAM_MATRIX) and subprocess.run(
        ["/sbin/ldconfig", "-p"], capture_output=True, text=True
    ).stdout.find(PAM_WRAPPER_LIB) >= 0


def sanitizer_build():
    """pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which AddressSanitizer
    refuses: a sanitizer build of roost can't run these tests."""
    if TARGET != "roost":
        return False
    path = os.path.join(BUILD_DIR, "roost-auth")
    if not os.path.exists(path):
        return False
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return "libasan" in out


pytestmark = [
    pytest.mark.skipif(not have_pam_wrapper(),
                       reason="needs libpam-wrapper (pam_wrapper + pam_matrix)"),
    pytest.mark.skipif(sanitizer_build(),
                       reason="pam_wrapper (RTLD_DEEPBIND) doesn't work under AddressSanitizer"),
]


def write_pam_dir(d):
    pam_d = os.path.join(d, "pam.d")
    os.makedirs(pam_d, exist_ok=True)
    passdb = os.path.join(d, "pam-matrix")
    with open(passdb, "w") as f:
        f.write("alice:alicepw:mail\nbob:bobpw:mail\n")
    os.chmod(passdb, 0o644)
    files = {
        "mail": f"auth required {PAM_MATRIX} passdb={passdb}\n"
                f"account required {PAM_MATRIX} passdb={passdb}\n",
        "hang": f"auth required {SECURITY}/pam_exec.so /bin/sleep {HANG_SECS}\n"
                f"account required {SECURITY}/pam_permit.so\n",
        "unix": f"auth required {SECURITY}/pam_unix.so\n"
                f"account required {SECURITY}/pam_unix.so\n",
    }
    for name, text in files.items():
        with open(os.path.join(pam_d, name), "w") as f:
            f.write(text)
    return pam_d


def pam_server(args_roost, args_dovecot, extra_global=""):
    server = AuthServer(extra_global=extra_global)
    pam_d = write_pam_dir(server.dir)
    env = {"LD_PRELOAD": PAM_WRAPPER_LIB, "PAM_WRAPPER": "1",
           "PAM_WRAPPER_SERVICE_DIR": pam_d}
    server.env = env
    args = args_roost if server.target == "roost" else args_dovecot
    text = server.config_text()
    text = re.sub(r"passdb \{\n  driver = passwd-file\n  args = [^\n]*\n\}",
                  f"passdb {{\n  driver = pam\n  args = {args}\n}}", text)
    assert "driver = pam" in text
    if server.target == "dovecot":
        # Dovecot's master passes only these variables to its children
        text += "import_environment = TZ " + " ".join(
            f"{k}={v}" for k, v in env.items()) + "\n"
    server.write_config(text)
    return server


@pytest.fixture(scope="module")
def pam():
    server = pam_server(f"max_requests=3 timeout={TIMEOUT} %s", "max_requests=3 %s",
                        extra_global="auth_verbose = yes\n")
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def plain(server, user, password, service="mail", timeout=10.0):
    with authproto.ClientConn(server.client_socket, timeout=timeout) as c:
        c.handshake()
        rid = c.auth("PLAIN", resp=authproto.plain_resp(user, password), service=service)
        f = c.reply(timeout)
    assert f[1] == str(rid), f
    return f


def test_right_password(pam):
    f = plain(pam, "alice", "alicepw")
    assert f[0] == "OK" and "user=alice" in f, f
    assert plain(pam, "bob", "bobpw")[0] == "OK"


def test_wrong_password(pam):
    mark = pam.log_mark()
    f = plain(pam, "alice", "wrongpw")
    assert f[0] == "FAIL", f
    assert "code=temp_fail" not in f, f
    pam.wait_log(mark, r"pam.*(authentication failure|password mismatch)")


def test_unknown_user(pam):
    # pam_matrix says "Authentication failure" for users it doesn't list
    assert plain(pam, "nobody", "x")[0] == "FAIL"
    # pam_unix says PAM_USER_UNKNOWN
    mark = pam.log_mark()
    f = plain(pam, "no-such-user-rt", "x", service="unix")
    assert f[0] == "FAIL" and "code=temp_fail" not in f, f
    pam.wait_log(mark, r"unknown user")


def test_unusable_service_is_temporary(pam):
    """No service file and no "other": pam_start/authenticate fails with a
    system error -> internal failure -> the client may retry."""
    mark = pam.log_mark()
    f = plain(pam, "alice", "alicepw", service="nosuchservice")
    assert f[0] == "FAIL", f
    if pam.target == "roost":
        assert "code=temp_fail" in f, f
        pam.wait_log(mark, r"pam\(nosuchservice\): pam_\w+\(\) failed: ")


def sleepers():
    """PIDs of the hanging module's children, anywhere on the system."""
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit() and f"sleep {HANG_SECS}" in proc_cmdline(int(p)):
            found.append(int(p))
    return found


def test_hang_does_not_stall_others(pam):
    """A PAM module that hangs: other logins go on meanwhile; roost kills
    the worker (and what the module started) after timeout= seconds and
    answers with a temporary failure, logging why."""
    mark = pam.log_mark()
    hung = authproto.ClientConn(pam.client_socket, timeout=TIMEOUT + 10)
    try:
        hung.handshake()
        rid = hung.auth("PLAIN", resp=authproto.plain_resp("alice", "alicepw"),
                        service="hang")
        wait_for(lambda: sleepers(), 5, what="the hanging PAM module to start")
        t0 = time.monotonic()
        for _ in range(5):
            assert plain(pam, "alice", "alicepw", timeout=5)[0] == "OK"
            assert plain(pam, "bob", "wrong", timeout=5)[0] == "FAIL"
        assert time.monotonic() - t0 < TIMEOUT, "logins were stalled by the hung module"
        if pam.target != "roost":
            return      # Dovecot's auth worker timeout is 60 s
        f = hung.read_fields(TIMEOUT + 10)
        assert f[0] == "FAIL" and f[1] == str(rid), f
        assert "code=temp_fail" in f, f
        elapsed = time.monotonic() - t0
        assert TIMEOUT - 1 <= elapsed <= TIMEOUT + 5, elapsed
        pam.wait_log(mark, rf"didn't finish the conversation in {TIMEOUT} secs")
        # resources: the module's child died with the worker
        wait_for(lambda: not sleepers(), 5, what="the hung module's children to be killed")
        assert plain(pam, "alice", "alicepw")[0] == "OK"
    finally:
        hung.close()


def test_concurrent_hangs_and_logins(pam, roost_only):
    """Several hung conversations at once, good logins in parallel threads."""
    conns = []
    try:
        for _ in range(3):
            c = authproto.ClientConn(pam.client_socket, timeout=TIMEOUT + 10)
            c.handshake()
            c.auth("PLAIN", resp=authproto.plain_resp("alice", "alicepw"), service="hang")
            conns.append(c)
        results = []

        def worker():
            for _ in range(4):
                results.append(plain(pam, "alice", "alicepw", timeout=5)[0])
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == ["OK"] * 16, results
        for c in conns:
            f = c.read_fields(TIMEOUT + 10)
            assert f[0] == "FAIL" and "code=temp_fail" in f, f
        wait_for(lambda: not sleepers(), 5, what="the hung modules' children to be killed")
    finally:
        for c in conns:
            c.close()


def pam_workers(server):
    auth = server.auth_pid()
    return {p for p in descendants(auth) if p != auth}


def test_max_requests_replaces_workers(pam, roost_only):
    seen = set()
    for _ in range(7):
        assert plain(pam, "alice", "alicepw")[0] == "OK"
        seen |= pam_workers(pam)
    # max_requests=3: 7 sequential conversations need at least 3 processes
    assert len(seen) >= 3, seen
    # ... but not more at once than needed
    assert len(pam_workers(pam)) <= 2


def test_killed_worker_is_replaced(pam, roost_only):
    workers = set()
    for _ in range(3):   # a worker at its max_requests has gone after the reply
        assert plain(pam, "alice", "alicepw")[0] == "OK"
        workers = pam_workers(pam)
        if workers:
            break
    assert workers
    mark = pam.log_mark()
    for p in workers:
        os.kill(p, signal.SIGSEGV)
    pam.wait_log(mark, r"PAM worker process \d+ killed by signal 11")
    assert plain(pam, "alice", "alicepw")[0] == "OK"
    assert plain(pam, "alice", "nope")[0] == "FAIL"


def test_cache_key(roost_only):
    """cache_key= caches PAM results: a password that PAM accepted keeps
    working from the cache after PAM's own list has changed."""
    server = pam_server(f"cache_key=%u%s timeout={TIMEOUT} %s", "",
                        extra_global="auth_cache_size = 1M\nauth_cache_ttl = 1 hour\n")
    try:
        server.start()
        assert plain(server, "alice", "alicepw")[0] == "OK"
        with open(os.path.join(server.dir, "pam-matrix"), "w") as f:
            f.write("bob:bobpw:mail\n")
        assert plain(server, "alice", "alicepw")[0] == "OK"   # cached
        assert plain(server, "alice", "other")[0] == "FAIL"
    finally:
        server.cleanup()


def test_no_cache_without_cache_key(roost_only):
    server = pam_server(f"timeout={TIMEOUT} %s", "",
                        extra_global="auth_cache_size = 1M\nauth_cache_ttl = 1 hour\n")
    try:
        server.start()
        assert plain(server, "alice", "alicepw")[0] == "OK"
        with open(os.path.join(server.dir, "pam-matrix"), "w") as f:
            f.write("bob:bobpw:mail\n")
        assert plain(server, "alice", "alicepw")[0] == "FAIL"
    finally:
        server.cleanup()


@pytest.mark.parametrize("args,error", [
    ("session=maybe %s", "Unknown setting: session=maybe"),
    ("max_requests=x %s", "Invalid max_requests value: x"),
    ("timeout=0 %s", "Invalid timeout value: 0"),
    ("foo=bar %s", "Unknown setting: foo=bar"),
])
def test_bad_args(args, error, roost_only):
    """roost-auth refuses to start, naming the file:line of the passdb."""
    server = pam_server(args, "")
    try:
        p = subprocess.run([roost_binary("roost-auth"), "-c", server.conf_path],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=10, env=dict(os.environ, **server.env))
        out = p.stdout + p.stderr
        assert p.returncode != 0, out
        assert error in out, out
        assert re.search(re.escape(server.conf_path) + r":\d+: passdb pam", out), out
    finally:
        server.cleanup()
