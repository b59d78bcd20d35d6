"""Contract 5: a Maildir written by Dovecot opens in roost with its UIDs,
UIDVALIDITY and flags kept.

Debian's Dovecot (doveadm) creates a Maildir, saves messages and sets
flags and keywords; mailcore/maildir-dump (roost's dovecot-uidlist,
dovecot-keywords and file name parsers) must then print what
`doveadm fetch` and `doveadm mailbox status` report.

doveadm runs without an auth server: the user comes from USER/HOME
(doveadm's no-userdb-lookup mode), so no dovecot daemon is started. Run
as root, the mail files belong to nobody (Dovecot refuses root mail access).
"""
import os
import shutil
import subprocess

import pytest

from conftest import make_tmpdir, roost_binary

DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
NOBODY = 65534

pytestmark = pytest.mark.skipif(not os.access(DOVEADM, os.X_OK),
                                reason="Debian's dovecot-core (doveadm) is not installed")

MESSAGES = [
    "From: a@example.com\nSubject: one\n\nbody one\n",
    "From: b@example.com\nSubject: two\n\nbody two\n",
    "From: c@example.com\nSubject: three\n\nbody three\n",
    "From: d@example.com\nSubject: four\n\nbody four\n",
    "From: e@example.com\nSubject: five\n\nbody five\n",
]
# (uid, flags to add); uid 5 is expunged afterwards
FLAG_CHANGES = [
    ("1", "\\Seen"),
    ("2", "\\Flagged $Important"),
    ("3", "\\Answered \\Seen foo"),
    ("4", "\\Draft \\Deleted foo $Important"),
]


class DovecotMaildir:
    def __init__(self):
        self.dir = make_tmpdir("rt.maildir.")
        self.home = os.path.join(self.dir, "home")
        self.maildir = os.path.join(self.home, "Maildir")
        os.mkdir(self.home)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        users = os.path.join(self.dir, "users")
        uid, gid = (NOBODY, NOBODY) if os.geteuid() == 0 else (os.getuid(), os.getgid())
        with open(users, "w") as f:
            f.write(f"user:{{PLAIN}}pw:{uid}:{gid}::{self.home}::\n")
        lines = [
            f"mail_location = maildir:{self.maildir}",
            f"base_dir = {self.dir}/run",
            f"state_dir = {self.dir}/state",
            f"log_path = {self.dir}/dovecot.log",
            "ssl = no",
            f"passdb {{\n  driver = passwd-file\n  args = {users}\n}}",
            f"userdb {{\n  driver = passwd-file\n  args = {users}\n}}",
        ]
        if os.geteuid() == 0:
            lines += [f"mail_uid = {uid}", f"mail_gid = {gid}"]
            os.chown(self.home, uid, gid)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def doveadm(self, *args, stdin=None):
        env = dict(os.environ, USER="user", HOME=self.home)
        p = subprocess.run([DOVEADM, "-c", self.conf, *args], input=stdin,
                           env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (f"doveadm {' '.join(args)} failed "
                                   f"({p.returncode}): {p.stderr}")
        return p.stdout

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def mbox():
    m = DovecotMaildir()
    for text in MESSAGES:
        m.doveadm("save", stdin=text)
    for uid, flags in FLAG_CHANGES:
        m.doveadm("flags", "add", flags, "mailbox", "INBOX", "uid", uid)
    m.doveadm("expunge", "mailbox", "INBOX", "uid", "5")
    yield m
    m.cleanup()


def dovecot_view(m):
    """{uid: (system flags, keywords)} and the status fields from Dovecot."""
    out = m.doveadm("fetch", "uid flags", "mailbox", "INBOX", "all")
    msgs = {}
    uid = None
    for line in out.splitlines():
        if line.startswith("uid: "):
            uid = int(line[5:])
        elif line.startswith("flags:"):
            words = line[6:].split()
            system = {w for w in words if w.startswith("\\") and w != "\\Recent"}
            keywords = {w for w in words if not w.startswith("\\")}
            msgs[uid] = (system, keywords)
    status = m.doveadm("mailbox", "status", "uidvalidity uidnext", "INBOX")
    fields = dict(kv.split("=", 1) for kv in status.split()[1:])
    return msgs, int(fields["uidvalidity"]), int(fields["uidnext"])


def run_dump(maildir):
    return subprocess.run([roost_binary("mailcore/maildir-dump"), maildir],
                          capture_output=True, text=True, timeout=30)


def roost_view(maildir):
    p = run_dump(maildir)
    assert p.returncode == 0, f"maildir-dump failed: {p.stderr}"
    lines = p.stdout.splitlines()
    assert lines[0].startswith("uidvalidity ")
    assert lines[1].startswith("next_uid ")
    msgs = {}
    for line in lines[2:]:
        uid, flags, keywords = line.split("\t")
        msgs[int(uid)] = (set() if flags == "-" else set(flags.split()),
                          set() if keywords == "-" else set(keywords.split()))
    return msgs, int(lines[0].split()[1]), int(lines[1].split()[1]), p.stderr


def test_dump_matches_doveadm(mbox):
    dc_msgs, dc_uidvalidity, dc_uidnext = dovecot_view(mbox)
    # the scenario really happened: 4 messages left, with flags and keywords
    assert sorted(dc_msgs) == [1, 2, 3, 4]
    assert dc_msgs[4] == ({"\\Draft", "\\Deleted"}, {"foo", "$Important"})
    rs_msgs, rs_uidvalidity, rs_next_uid, stderr = roost_view(mbox.maildir)
    assert rs_uidvalidity == dc_uidvalidity
    assert rs_next_uid == dc_uidnext
    assert rs_msgs == dc_msgs
    assert stderr == ""


def test_uidlist_is_dovecot_v3(mbox):
    with open(os.path.join(mbox.maildir, "dovecot-uidlist")) as f:
        header = f.readline().split()
    assert header[0] == "3"
    assert any(h.startswith("V") for h in header)
    with open(os.path.join(mbox.maildir, "dovecot-keywords")) as f:
        names = {line.split(" ", 1)[1].strip() for line in f}
    assert names == {"$Important", "foo"}


def copy_maildir(mbox):
    d = make_tmpdir("rt.maildir-copy.")
    dst = os.path.join(d, "Maildir")
    shutil.copytree(mbox.maildir, dst)
    return d, dst


def test_truncated_uidlist_is_a_clear_error(mbox):
    d, dst = copy_maildir(mbox)
    try:
        path = os.path.join(dst, "dovecot-uidlist")
        with open(path, "rb") as f:
            data = f.read()
        second_line_end = data.index(b"\n", data.index(b"\n") + 1)
        with open(path, "wb") as f:
            f.write(data[:second_line_end - 3])
        p = run_dump(dst)
        assert p.returncode == 1
        assert f"{path}:2: truncated line (no newline at end of file)" in p.stderr
        assert p.stdout == ""
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unknown_fields_are_tolerated(mbox):
    d, dst = copy_maildir(mbox)
    try:
        path = os.path.join(dst, "dovecot-uidlist")
        with open(path) as f:
            lines = f.read().splitlines()
        # a newer Dovecot's extra header field and per-record fields
        lines[0] += " Zsomething"
        lines[1] = lines[1].replace(" :", " Qfuture G0123456789abcdef0123456789abcdef :", 1)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        dc_msgs, dc_uidvalidity, _ = dovecot_view(mbox)
        rs_msgs, rs_uidvalidity, _, _ = roost_view(dst)
        assert rs_msgs == dc_msgs
        assert rs_uidvalidity == dc_uidvalidity
    finally:
        shutil.rmtree(d, ignore_errors=True)
