"""Shared fixtures for roost's integration tests.

One switch selects the auth server under test:
  ROOST_TEST_TARGET=roost    (default) roostd/roost-auth from ROOST_BUILD_DIR
  ROOST_TEST_TARGET=dovecot  Debian's Dovecot 2.3 (the reference implementation)
ROOST_BUILD_DIR (default: the repository root) holds roostd, roost-auth, roostadm.

Every server runs in its own short temp dir under /tmp (unix socket paths must
stay below 108 bytes), is started in the foreground as our child and is stopped
by PID (SIGTERM, then SIGKILL). Processes are also stopped at interpreter exit.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import authproto  # noqa: E402

REPO = os.path.dirname(HERE)
TARGET = os.environ.get("ROOST_TEST_TARGET", "roost").strip() or "roost"
BUILD_DIR = os.path.abspath(os.environ.get("ROOST_BUILD_DIR") or REPO)
PYTHON = "/usr/bin/python3"

if TARGET not in ("roost", "dovecot"):
    raise pytest.UsageError(
        f"ROOST_TEST_TARGET must be 'roost' or 'dovecot', not {TARGET!r}")

# passwd-file: user:password:uid:gid:gecos:home:shell:extra_fields
USERS = {
    "alice": ("alicepw", 1001, 1001, "/home/alice",
              "userdb_quota_rule=*:storage=1G"),
    "bob": ("{PLAIN}bobpw", 1002, 1002, "/home/bob", ""),
}


def users_file_text(users=USERS):
    return "".join(f"{u}:{p}:{uid}:{gid}::{home}::{extra}\n"
                   for u, (p, uid, gid, home, extra) in users.items())


# ---------------------------------------------------------------- helpers

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - keep polling, report the last one
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timeout after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def proc_state(pid):
    """Single-letter state from /proc/PID/stat, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(")") + 2]


def pid_alive(pid):
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        # gone between listing /proc and reading it
        return None
    return int(data[data.rindex(")") + 2:].split()[1])


def descendants(pid):
    """All live descendants of pid (children first)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            pp = proc_ppid(int(d))
            if pp is not None:
                kids.setdefault(pp, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except FileNotFoundError:
        return ""


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def stop_pid(pid, popen=None, timeout=10.0, sig=signal.SIGTERM):
    """Signal pid, wait up to timeout (a zombie counts as stopped), then KILL."""
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            return
        if not pid_alive(pid):
            break
        time.sleep(0.05)
    else:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if popen is not None:
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


_live = []   # objects with .stop(), stopped at exit if a test run is aborted


@atexit.register
def _stop_everything():
    for obj in list(_live):
        try:
            obj.stop()
        except Exception:  # noqa: BLE001
            pass


def roost_binary(name):
    """Absolute path of a roost binary; fails (not skips) when missing."""
    path = os.path.join(BUILD_DIR, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"roost binary {path} is missing or not executable: build roost "
                    f"first (make), or set ROOST_BUILD_DIR to the build directory, or "
                    f"run with ROOST_TEST_TARGET=dovecot to test the reference server",
                    pytrace=False)
    return path


def roost_binary_or_none(name):
    path = os.path.join(BUILD_DIR, name)
    return path if os.access(path, os.X_OK) else None


def make_tmpdir(prefix="rt."):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)    # postfix / dovecot children run as other users
    return d


# ---------------------------------------------------------------- servers

class AuthServer:
    """One auth server (roostd or dovecot) in a private temp dir.

    Attributes tests use: target, dir, base_dir, conf_path, log_path,
    client_socket, master_socket, userdb_socket, inet_port, inet_addr,
    users_path, pid (the master process: roostd or dovecot)."""

    def __init__(self, target=TARGET, mechanisms="plain login", failure_delay="0",
                 extra_global="", users=USERS, standalone=False, env=None):
        self.target = target
        # extra environment for the server (e.g. KRB5_CONFIG); None: inherit
        self.env = env
        self.mechanisms = mechanisms
        self.failure_delay = failure_delay
        self.extra_global = extra_global
        self.standalone = standalone      # roost only: run roost-auth without roostd
        self.dir = make_tmpdir("rt.")
        self.base_dir = os.path.join(self.dir, "run")
        self.conf_path = os.path.join(self.dir, "auth.conf")
        self.log_path = os.path.join(self.dir, f"{target}.log")
        self.users_path = os.path.join(self.dir, "users")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.client_socket = os.path.join(self.base_dir, "auth-client")
        self.master_socket = os.path.join(self.base_dir, "auth-master")
        self.userdb_socket = os.path.join(self.base_dir, "auth-userdb")
        self.inet_port = free_port()
        self.inet_addr = ("127.0.0.1", self.inet_port)
        self.proc = None
        self.pid = None
        self._known_pids = set()
        self.write_users(users)
        self.write_config()

    # ---- files
    def write_users(self, users=USERS, path=None):
        path = path or self.users_path
        with open(path, "w") as f:
            f.write(users_file_text(users))
        os.chmod(path, 0o644)   # dovecot's auth process runs as user dovecot

    def config_text(self, mechanisms=None, users_path=None):
        mechanisms = mechanisms or self.mechanisms
        users_path = users_path or self.users_path
        # roostd would otherwise exec the installed LIBEXECDIR/roost-auth
        executable = (f"  executable = {os.path.join(BUILD_DIR, 'roost-auth')}\n"
                      if self.target == "roost" else "")
        common = f"""\
auth_mechanisms = {mechanisms}
auth_failure_delay = {self.failure_delay}
disable_plaintext_auth = no
{self.extra_global}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users_path}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users_path}
}}
service auth {{
{executable}  unix_listener auth-client {{
    mode = 0666
  }}
  unix_listener auth-userdb {{
    mode = 0666
  }}
  inet_listener auth-inet {{
    address = 127.0.0.1
    port = {self.inet_port}
  }}
}}
"""
        if self.target == "dovecot":
            head = f"""\
# reference server: Dovecot with only its auth service (services.md section 8)
instance_name = rt-{os.path.basename(self.dir)}
base_dir = {self.base_dir}
state_dir = {self.dir}/state
log_path = {self.log_path}
protocols = none
listen = 127.0.0.1
ssl = no
# no growing per-IP penalty after failures
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        else:
            head = f"""\
base_dir = {self.base_dir}
log_path = {self.log_path}
# no growing per-IP penalty after failures (test_penalty.py removes this)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        return head + common

    def write_config(self, text=None, **kw):
        with open(self.conf_path, "w") as f:
            f.write(text if text is not None else self.config_text(**kw))
        os.chmod(self.conf_path, 0o644)

    # ---- life cycle
    def command(self):
        if self.target == "dovecot":
            return ["dovecot", "-F", "-c", self.conf_path]
        if self.standalone:
            return [roost_binary("roost-auth"), "-c", self.conf_path]
        roost_binary("roost-auth")      # roostd runs it: fail early if missing
        return [roost_binary("roostd"), "-F", "-c", self.conf_path]

    def start(self, timeout=20.0):
        cmd = self.command()
        out = open(self.stdout_path, "ab")
        env = None if self.env is None else {**os.environ, **self.env}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, cwd=self.dir, env=env)
        out.close()
        self.pid = self.proc.pid
        _live.append(self)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=20.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{' '.join(self.command())} exited with {self.proc.returncode} "
                    f"during start-up:\n{self.startup_output()}")
            if not os.path.exists(self.client_socket):
                return False
            with authproto.ClientConn(self.client_socket, timeout=2) as c:
                c.handshake()
                return c.spid
        try:
            wait_for(ready, timeout, what=f"{self.target} auth server ready at "
                     f"{self.client_socket}")
        except AssertionError as e:
            if "during start-up" in str(e):
                raise
            raise AssertionError(f"{e}\n{self.startup_output()}") from None
        wait_for(lambda: self._tcp_listening(), timeout,
                 what=f"inet listener 127.0.0.1:{self.inet_port}")
        self._remember_pids()

    def _tcp_listening(self):
        try:
            with socket.create_connection(self.inet_addr, timeout=1):
                return True
        except OSError:
            return False

    def _remember_pids(self):
        if self.pid:
            self._known_pids.update(descendants(self.pid))

    def startup_output(self):
        parts = []
        for p in (self.stdout_path, self.log_path):
            try:
                with open(p, errors="replace") as f:
                    parts.append(f"--- {p}:\n{f.read()[-4000:]}")
            except FileNotFoundError:
                parts.append(f"--- {p}: (missing)")
        return "\n".join(parts)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        self._remember_pids()
        stop_pid(self.pid, self.proc, timeout)
        # children that outlived their master (should not happen): stop by pid
        for p in sorted(self._known_pids):
            if pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if self in _live:
            _live.remove(self)

    def cleanup(self):
        self.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def reload(self):
        os.kill(self.pid, signal.SIGHUP)

    # ---- introspection
    def auth_pid(self):
        """PID of the process serving the auth sockets (roost-auth, or
        Dovecot's auth child), taken from SPID and checked to be ours."""
        with authproto.ClientConn(self.client_socket, timeout=5) as c:
            c.handshake()
            spid = c.spid
        assert spid, "no SPID in handshake"
        if self.pid != spid:
            assert spid in descendants(self.pid), (
                f"SPID {spid} is not a child of the server master {self.pid}")
        return spid

    def log_mark(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, mark, regex, timeout=5.0):
        """Wait until a log line written after mark matches regex (re.I)."""
        rx = re.compile(regex, re.I)

        def found():
            for line in self.log_since(mark).splitlines():
                if rx.search(line):
                    return line
            return None
        try:
            return wait_for(found, timeout, what=f"log line matching {regex!r}")
        except AssertionError:
            raise AssertionError(
                f"no line matching /{regex}/ in {self.log_path} after the event; "
                f"new log text was:\n{self.log_since(mark)[-3000:]}") from None


def check_serves(server, user="alice", password="alicepw"):
    """A fresh connection on the client socket gets a normal PLAIN OK."""
    f = authproto.plain_auth_ok(server.client_socket, user, password)
    assert f[0] == "OK" and f[2] == f"user={user}", f"fresh PLAIN auth got {f!r}"


def new_server(**kw):
    """Start a server (for tests that need their own config); caller cleans up."""
    s = AuthServer(**kw)
    try:
        s.start()
    except BaseException:
        s.cleanup()
        raise
    return s


@pytest.fixture(scope="module")
def auth_server():
    """The server under test (ROOST_TEST_TARGET), one per test module."""
    s = new_server()
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def roost_only():
    if TARGET != "roost":
        pytest.skip("roost-only: exercises roostd/roost-auth specific behaviour "
                    f"(target is {TARGET})")


@pytest.fixture(scope="session")
def target():
    return TARGET


def pytest_report_header(config):
    extra = f", ROOST_BUILD_DIR={BUILD_DIR}" if TARGET == "roost" else ""
    return f"auth server under test: ROOST_TEST_TARGET={TARGET}{extra}"
