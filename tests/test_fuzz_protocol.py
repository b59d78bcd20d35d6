"""A bounded random-input run against the auth sockets (seeded, ~8 s):
garbage lines, broken and valid steps of every mechanism, pipelined or
byte by byte, vanishing clients. roost-auth must stay up (same SPID), keep
its memory bounded and still serve a normal login. Under the sanitizer build
(scripts/test.sh --sanitizers) any ASan/UBSan report fails the run too."""
import base64
import os
import random
import socket
import time

import pytest

from conftest import AuthServer, check_serves, vm_rss_kb

pytestmark = pytest.mark.usefixtures("roost_only")

MECHS = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
         "ANONYMOUS", "EXTERNAL", "plain", "FOO", ""]
PARAMS = ["service=smtp", "secured", "nologin", "lip=127.0.0.1", "rip=192.0.2.1",
          "rip=::1", "rip=garbage", "valid-client-cert", "cert_username=alice",
          "final-resp-ok", "no-penalty", "session=abc", "debug", "lport=99999",
          "rport=-1", "forward_fields=a\x01tb", "service=", "x=\x01"]
PIECES = [b"n,,n=alice,r=0123abcd", b"\0alice\0alicepw", b"c=biws,r=x,p=AAAA",
          b'username="alice",realm="x",nonce="n",cnonce="c",nc=00000001,qop=auth,'
          b'digest-uri="imap/h",response=00',
          b"alice 0123456789abcdef0123456789abcdef", b"n,a=bob,n=alice,r=abc",
          b"y,,n=a=2Cb,r=x", b"p=tls-unique,,n=a,r=b"]


class Fuzzer:
    def __init__(self, seed):
        self.rnd = random.Random(seed)

    def rbytes(self, n):
        return bytes(self.rnd.getrandbits(8) for _ in range(n))

    def payload(self):
        r = self.rnd.random()
        if r < 0.3:
            return base64.b64encode(self.rbytes(self.rnd.randint(0, 300))).decode()
        if r < 0.6:
            extra = self.rbytes(self.rnd.randint(0, 5)) if self.rnd.random() < 0.3 else b""
            return base64.b64encode(self.rnd.choice(PIECES) + extra).decode()
        if r < 0.7:
            return "=" * self.rnd.randint(0, 5)
        return "".join(self.rnd.choice("ABCabc+/=!\t\x01") for _ in range(self.rnd.randint(0, 50)))

    def line(self):
        r = self.rnd.random()
        rid = str(self.rnd.choice([1, 2, 3, 0, 4294967295, 4294967296, -1,
                                   self.rnd.randint(1, 50)]))
        if r < 0.5:
            parts = ["AUTH", rid, self.rnd.choice(MECHS)] + \
                self.rnd.sample(PARAMS, self.rnd.randint(0, 5))
            if self.rnd.random() < 0.7:
                parts.append("resp=" + self.payload())
            return "\t".join(parts)
        if r < 0.85:
            return "\t".join(["CONT", rid, self.payload()])
        if r < 0.9:
            return "CANCEL\t" + rid
        return self.rbytes(self.rnd.randint(0, 40)).decode("latin-1").replace("\n", "")


@pytest.fixture(scope="module")
def server():
    s = AuthServer(mechanisms="plain login cram-md5 digest-md5 scram-sha-1 "
                              "scram-sha-256 anonymous external",
                   extra_global="auth_master_user_separator = *\n"
                                "auth_ssl_username_from_cert = yes\n")
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def _one_client(fz, path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(0.5)
    try:
        s.connect(path)
        data = "VERSION\t1\t%d\nCPID\t%d\n" % (fz.rnd.choice([0, 2, 3]), fz.rnd.randint(1, 99999))
        for _ in range(fz.rnd.randint(1, 40)):
            data += fz.line() + "\n"
        raw = data.encode("latin-1", "replace")
        if fz.rnd.random() < 0.5:
            step = fz.rnd.randint(1, 64)
            for i in range(0, len(raw), step):
                s.sendall(raw[i:i + step])
        else:
            s.sendall(raw)
        if fz.rnd.random() < 0.7:
            try:
                s.recv(65536)
            except socket.timeout:
                pass
    except OSError:
        pass
    finally:
        s.close()


def _one_master(fz, path):
    m = socket.socket(socket.AF_UNIX)
    m.settimeout(0.5)
    try:
        m.connect(path)
        lines = ["USER\t1\talice\tservice=x", "PASS\t2\tbob\tservice=x", "LIST\t3\tuser=*",
                 "REQUEST\t4\t1\t1\t" + fz.rbytes(16).hex(), "CACHE-FLUSH\t5",
                 "USER\t6\t" + "a" * 2000, fz.line()]
        fz.rnd.shuffle(lines)
        m.sendall(("VERSION\t1\t1\n" + "\n".join(lines) + "\n").encode("latin-1", "replace"))
        try:
            m.recv(65536)
        except OSError:
            pass
    except OSError:
        pass
    finally:
        m.close()


def test_random_input_keeps_roost_auth_up_and_bounded(server):
    spid = server.auth_pid()
    rss_before = vm_rss_kb(spid)
    fz = Fuzzer(20261128)
    deadline = time.time() + 8
    n = 0
    while time.time() < deadline:
        _one_client(fz, server.client_socket)
        n += 1
        if n % 50 == 0:
            _one_master(fz, server.master_socket)
    assert n > 100
    # same process, still serving, memory bounded
    assert server.auth_pid() == spid
    check_serves(server)
    rss_after = vm_rss_kb(spid)
    # AddressSanitizer keeps freed memory in quarantine (scripts/test.sh
    # caps it at 64 MiB); its leak check at exit covers that build
    limit = 64 * 1024 if "ASAN_OPTIONS" not in os.environ else 256 * 1024
    assert rss_after < max(rss_before * 4, limit), (rss_before, rss_after)
