"""`make install prefix=P` puts the programs where the README says, and the
installed roostd finds the installed roost-auth and serves logins."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD_DIR, TARGET

pytestmark = pytest.mark.skipif(TARGET != "roost", reason="roost build only")


@pytest.fixture(scope="module")
def prefix():
    if not os.path.exists(os.path.join(BUILD_DIR, "Makefile")):
        pytest.fail(f"no Makefile in ROOST_BUILD_DIR={BUILD_DIR}: build roost first")
    d = tempfile.mkdtemp(prefix="ri.", dir="/tmp")
    try:
        r = subprocess.run(["make", "-C", BUILD_DIR, "install", f"prefix={d}"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_layout(prefix):
    for path in ("sbin/roostd", "sbin/roost-auth", "bin/roostadm"):
        full = os.path.join(prefix, path)
        assert os.access(full, os.X_OK), f"{path} not installed"
    assert os.path.isdir(os.path.join(prefix, "libexec/roost"))


def test_installed_roostd_serves(prefix):
    d = tempfile.mkdtemp(prefix="rj.", dir="/tmp")
    proc = None
    try:
        with open(os.path.join(d, "users"), "w") as f:
            f.write("alice:{PLAIN}alicepw:1001:1001::/home/alice::\n")
        with open(os.path.join(d, "roost.conf"), "w") as f:
            f.write(f"base_dir = {d}/run\nlog_path = {d}/roost.log\n"
                    "auth_failure_delay = 0\n"
                    f"passdb {{\n  driver = passwd-file\n  args = {d}/users\n}}\n")
        env = dict(os.environ)
        env.pop("ROOST_LIBEXEC_DIR", None)
        proc = subprocess.Popen([os.path.join(prefix, "sbin/roostd"), "-F", "-c",
                                 os.path.join(d, "roost.conf")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sock = os.path.join(d, "run", "auth-client")
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        r = subprocess.run([os.path.join(prefix, "bin/roostadm"), "auth", "test", "-a",
                            sock, "alice", "alicepw"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "passdb: alice auth succeeded" in r.stdout
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(d, ignore_errors=True)
