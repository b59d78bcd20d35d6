"""The README's first command: scripts/demo.sh builds and starts roost on
the embedded default configuration and prints a demo user whose password
works (here with its var/ directory in a temp dir)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, TARGET

pytestmark = pytest.mark.skipif(TARGET != "roost", reason="roost only")


def test_demo_script_starts_roost_with_a_working_demo_user():
    var = tempfile.mkdtemp(prefix="rd.", dir="/tmp")
    env = dict(os.environ, ROOST_DEMO_VAR=var)
    proc = subprocess.Popen(["bash", os.path.join(REPO, "scripts/demo.sh")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    out = []
    try:
        deadline = time.time() + 600   # may have to build first
        password = None
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            m = re.match(r"\s+password:\s+(\S+)", line)
            if m:
                password = m.group(1)
            if "Starting roostd" in line:
                break
        assert password, "demo.sh printed no password:\n" + "".join(out[-40:])
        sock = os.path.join(var, "run", "auth-client")
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        roostadm = os.path.join(REPO, "build", "roostadm")
        r = subprocess.run([roostadm, "auth", "test", "-a", sock, "demo", password],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run([roostadm, "auth", "test", "-a", sock, "demo", "wrong"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 77, r.stdout + r.stderr
        with open(os.path.join(var, "roost.conf")) as f:
            assert f"base_dir = {var}/run" in f.read()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(var, ignore_errors=True)
