"""Small raw client for the Dovecot-compatible auth protocols (tests only).

Speaks the auth client protocol 1.2 and the auth master/userdb protocol 1.1
byte by byte (see ../../shared/spec/auth-client-protocol.md and
auth-master-protocol.md), so the tests can send well-formed and deliberately
broken input and look at exactly what comes back.

Addresses: a str starting with "/" is a UNIX socket path; a (host, port)
tuple is TCP.
"""
import base64
import socket
import time

DEFAULT_TIMEOUT = 10.0


class Closed(Exception):
    """The server closed the connection (EOF or reset) while we waited."""


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain_resp(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def connect(address, timeout=DEFAULT_TIMEOUT):
    if isinstance(address, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(address)
    return s


class Conn:
    """One connection: raw line I/O plus helpers for the common flows."""

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        self.address = address
        self.sock = connect(address, timeout)
        self.buf = b""
        self.eof = False

    # ---- raw I/O -------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_line(self, *fields):
        """Send TAB-joined fields + LF. Fields may be str or bytes."""
        parts = [f.encode() if isinstance(f, str) else f for f in fields]
        self.send(b"\t".join(parts) + b"\n")

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise Closed("server closed the connection")
        self.buf += chunk

    def read_line_bytes(self, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if self.eof:
                raise Closed("server closed the connection")
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete line within %.1fs (have %r)"
                                     % (timeout, self.buf[:200]))
            self._fill(left)
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_line(self, timeout=DEFAULT_TIMEOUT):
        return self.read_line_bytes(timeout).decode("utf-8", "replace")

    def read_fields(self, timeout=DEFAULT_TIMEOUT):
        return self.read_line(timeout).split("\t")

    def wait_closed(self, timeout=5.0):
        """Read (and discard) until EOF. Returns the discarded bytes.
        Raises socket.timeout if the server keeps the connection open."""
        deadline = time.monotonic() + timeout
        junk = self.buf
        self.buf = b""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("server did not close the connection "
                                     "within %.1fs (got %r)" % (timeout, junk[:200]))
            try:
                self._fill(left)
            except Closed:
                break
            except socket.timeout:
                raise socket.timeout("server did not close the connection "
                                     "within %.1fs (got %r)" % (timeout, junk[:300]))
            junk += self.buf
            self.buf = b""
        return junk

    def is_open(self, wait=0.3):
        """True if the server has not closed the connection within `wait`."""
        try:
            self.wait_closed(wait)
            return False
        except socket.timeout:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ClientConn(Conn):
    """Auth client protocol (auth-client socket, inet listener)."""

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        super().__init__(address, timeout)
        self.handshake_lines = []
        self.mechs = {}
        self.spid = None
        self.cuid = None
        self.cookie = None
        self.next_id = 1

    def read_handshake(self, timeout=DEFAULT_TIMEOUT):
        """Read the server handshake up to DONE; returns the raw lines."""
        while True:
            line = self.read_line(timeout)
            self.handshake_lines.append(line)
            f = line.split("\t")
            if f[0] == "MECH":
                self.mechs[f[1].upper()] = f[2:]
            elif f[0] == "SPID":
                self.spid = int(f[1])
            elif f[0] == "CUID":
                self.cuid = f[1]
            elif f[0] == "COOKIE":
                self.cookie = f[1]
            elif f[0] == "DONE":
                return self.handshake_lines

    def handshake(self, minor=2, cpid=4242, timeout=DEFAULT_TIMEOUT):
        self.send(f"VERSION\t1\t{minor}\nCPID\t{cpid}\n")
        return self.read_handshake(timeout)

    def new_id(self):
        rid = self.next_id
        self.next_id += 1
        return rid

    def auth(self, mech, *params, resp=None, rid=None, service="smtp"):
        """Send AUTH; returns the id used. resp=None: no resp= parameter."""
        if rid is None:
            rid = self.new_id()
        fields = ["AUTH", str(rid), mech, f"service={service}", *params]
        if resp is not None:
            fields.append(f"resp={resp}")
        self.send_line(*fields)
        return rid

    def cont(self, rid, data):
        self.send_line("CONT", str(rid), data)

    def reply(self, timeout=DEFAULT_TIMEOUT):
        return self.read_fields(timeout)

    def plain(self, user, password, *params, timeout=DEFAULT_TIMEOUT):
        """Complete PLAIN exchange with initial response; returns reply fields."""
        rid = self.auth("PLAIN", *params, resp=plain_resp(user, password))
        f = self.reply(timeout)
        assert f[1] == str(rid), f
        return f

    def login(self, user, password, timeout=DEFAULT_TIMEOUT):
        """Complete LOGIN exchange (no initial response); returns the list of
        all server lines as field lists, the last one being OK/FAIL."""
        rid = self.auth("LOGIN")
        lines = []
        for answer in (user, password):
            f = self.reply(timeout)
            lines.append(f)
            if f[0] != "CONT":
                return lines
            self.cont(rid, b64(answer))
        lines.append(self.reply(timeout))
        return lines


class MasterConn(Conn):
    """Auth master / userdb protocol (auth-master, auth-userdb sockets)."""

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        super().__init__(address, timeout)
        self.handshake_lines = []
        self.spid = None
        self.next_id = 1

    def read_handshake(self, timeout=DEFAULT_TIMEOUT):
        """VERSION + SPID (the master socket sends no DONE)."""
        while True:
            line = self.read_line(timeout)
            self.handshake_lines.append(line)
            f = line.split("\t")
            if f[0] == "SPID":
                self.spid = int(f[1])
                return self.handshake_lines

    def handshake(self, minor=1, timeout=DEFAULT_TIMEOUT):
        self.send(f"VERSION\t1\t{minor}\n")
        return self.read_handshake(timeout)

    def new_id(self):
        rid = self.next_id
        self.next_id += 1
        return rid

    def user(self, name, *params, service="doveadm", timeout=DEFAULT_TIMEOUT):
        rid = self.new_id()
        self.send_line("USER", str(rid), name, f"service={service}", *params)
        f = self.read_fields(timeout)
        assert f[1] == str(rid), f
        return f

    def passdb(self, name, *params, service="doveadm", timeout=DEFAULT_TIMEOUT):
        rid = self.new_id()
        self.send_line("PASS", str(rid), name, f"service={service}", *params)
        f = self.read_fields(timeout)
        assert f[1] == str(rid), f
        return f

    def list_users(self, *params, timeout=DEFAULT_TIMEOUT):
        rid = self.new_id()
        self.send_line("LIST", str(rid), *params)
        users = []
        while True:
            f = self.read_fields(timeout)
            if f[0] == "LIST":
                users.append(f[2])
            else:
                return users, f


def fields_dict(fields):
    """['OK','1','user=a','x=1','flag'] -> {'user':'a','x':'1','flag':True}
    (for the part after the command and id)."""
    d = {}
    for f in fields:
        if "=" in f:
            k, v = f.split("=", 1)
            d[k] = v
        elif f:
            d[f] = True
    return d


def plain_auth_ok(address, user="alice", password="alicepw", timeout=5.0):
    """Fresh connection, handshake, PLAIN; returns the reply fields."""
    with ClientConn(address, timeout) as c:
        c.handshake()
        return c.plain(user, password, timeout=timeout)
