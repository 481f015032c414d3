"""docs/protocol.md's "Differences from the reference server", made a test.

The same edge requests go to metricsd and to the model of the course's
reference server (reference_server.py), each case on a fresh connection.
Every case whose transcripts differ must be named in a row of the table's
"checked by" column, every case named there must differ, and every row
must name at least one case. test_check.py holds `metricsd check` to the
check names of that column.

Run from the repository root:

    python3 -m unittest discover -s tests/compat -v
"""

import pathlib
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import servers  # noqa: E402

PROTOCOL_MD = servers.REPO_ROOT / "docs" / "protocol.md"
QUIET = 2  # seconds of silence after which a segment counts as unanswered

# Python 3.11 limits int() to 4,300 digits; older versions have no limit.
HAS_INT_DIGIT_LIMIT = hasattr(sys, "get_int_max_str_digits")

LONG = "y" * (70 << 10)

# id -> segments, each sent alone and answered before the next is sent;
# "{k}" is the case's own key. The cases differ only where the table says.
CASES = {
    "put-get": ["put {k} 1.5 10\n", "get {k}\n"],
    "crlf": ["put {k} 2 3\r\n", "get {k}\r\n"],
    "get-missing": ["get {k}\n"],
    "spaces-around": ["  put {k} 1 1  \n", "get {k} \n"],
    "double-space-after-put": ["put  {k} 1 1\n", "get {k}\n"],
    "tabs-between-arguments": ["put {k}\t1\t1\n", "get {k}\n"],
    "unicode-spaces-between-arguments": ["put {k}\u30001\u20282\n", "get {k}\n"],
    "tab-after-put": ["put\t{k} 1 1\n", "get {k}\n"],
    "nbsp-after-put": ["put\u00a0{k} 1 1\n", "get {k}\n"],
    "tab-after-get": ["put {k} 1 1\n", "get\t{k}\n"],
    "get-double-space": ["put {k} 1 1\n", "get  {k}\n"],
    "get-two-keys": ["put {k} 1 1\n", "get {k} other\n"],
    "empty-line": ["\n"],
    "cr-line": ["\r\n"],
    "blank-line": [" \t\n"],
    "bare-get": ["get\n"],
    "bare-put": ["put\n"],
    "unknown-command": ["got {k}\n"],
    "uppercase": ["PUT {k} 1 1\n"],
    "put-too-few": ["put {k} 1\n", "get {k}\n"],
    "put-too-many": ["put {k} 1 2 3\n", "get {k}\n"],
    "value-hex": ["put {k} 0x10 1\n"],
    "value-dot": ["put {k} . 1\n"],
    "value-bare-exponent": ["put {k} 1e 1\n"],
    "value-double-underscore": ["put {k} 1__0 1\n"],
    "value-underscore": ["put {k} 1_000.5 1\n", "get {k}\n"],
    "value-10": ["put {k} 10 1\n", "get {k}\n"],
    "value-1e-05": ["put {k} .00001 1\n", "get {k}\n"],
    "value-4200000": ["put {k} 4.2e6 1\n", "get {k}\n"],
    "value-1e16": ["put {k} 1e16 1\n", "get {k}\n"],
    "value-15e15": ["put {k} 15e15 1\n", "get {k}\n"],
    "value-long": ["put {k} 123456789012345678 1\n", "get {k}\n"],
    "value-nan": ["put {k} NaN 1\n", "get {k}\n"],
    "value-inf": ["put {k} -Infinity 1\n", "put {k} 1e400 2\n", "get {k}\n"],
    "value-underflow": ["put {k} 1e-400 1\n", "put {k} -0 2\n", "get {k}\n"],
    "value-arabic-digit": ["put {k} \u0661 1\n", "get {k}\n"],
    "ts-fullwidth-digit": ["put {k} 1 \uff15\n", "get {k}\n"],
    "ts-forms": ["put {k} 1 +5\n", "put {k} 2 007\n", "put {k} 3 1_000\n", "put {k} 4 -0\n", "get {k}\n"],
    "ts-fraction": ["put {k} 1 5.0\n", "put {k} 1 1e3\n", "get {k}\n"],
    "ts-over-int64": ["put {k} 1 9223372036854775808\n", "get {k}\n"],
    "ts-under-int64": ["put {k} 1 -9223372036854775809\n", "get {k}\n"],
    "ts-4301-digits": ["put {k} 1 " + "0" * 4300 + "1\n", "get {k}\n"],
    "last-write-wins-sorted": ["put {k} 1 5\n", "put {k} 2 5\n", "put {k} 3 4\n", "get {k}\n"],
    "key-with-nul": ["put {k}\x00z 1 1\n", "get {k}\x00z\n"],
    "key-5000-bytes": ["put {k}" + "z" * 5000 + " 1 1\n", "get {k}" + "z" * 5000 + "\n"],
    "invalid-utf8": [b"put {k}\xff 1 1\n", "put {k} 1 1\n", "get {k}\n"],
    "truncated-utf8": [b"get {k}\xc3\n", "get {k}\n"],
    "batch-puts-get": ["put {k} 1 1\nput {k} 2 2\nget {k}\n"],
    "batch-gets": ["put {k} 1 1\n", "get {k}\nget {k}\n"],
    "batch-bad-line": ["put {k} 1 1\nbogus\n", "get {k}\n"],
    "long-line": ["put {k}" + LONG + " 1 1\n", "put {k} 1 1\n", "get {k}\n"],
}

# Cases run against a metricsd with a server limit: --max-series 1.
LIMIT_CASES = {
    "max-series": ["put {k}a 1 1\n", "put {k}b 1 1\n", "get {k}b\n"],
}


def segments(case_id, raw):
    """The case's segments as bytes, its key filled in."""
    key = "ref." + case_id
    out = []
    for seg in raw:
        if isinstance(seg, bytes):
            out.append(seg.replace(b"{k}", key.encode()))
        else:
            out.append(seg.replace("{k}", key).encode())
    return out


def transcript(addr, segs):
    """Send each segment alone, read its reply (up to an empty line, or
    QUIET seconds of silence), half-close after the last and read to the
    end; return everything received."""
    host, _, port = addr.rpartition(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=servers.TIMEOUT) as sock:
        for i, seg in enumerate(segs):
            sock.sendall(seg)
            if i == len(segs) - 1:
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(servers.TIMEOUT)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return received
                    received += chunk
            start = len(received)
            sock.settimeout(QUIET)
            deadline = time.monotonic() + servers.TIMEOUT
            while not received[start:].endswith(b"\n\n") and time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    return received
                received += chunk
    return received


def documented_differences():
    """From docs/protocol.md's differences table: {row title: set of case
    ids} and the set of `metricsd check` names (those with a "/")."""
    text = PROTOCOL_MD.read_text()
    section = text.split("## Differences from the reference server", 1)[1]
    rows, checks = {}, set()
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| |"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = set(re.findall(r"`([^`]+)`", cells[-1])) if len(cells) >= 4 else set()
        checks |= {n for n in names if "/" in n}
        rows[cells[0]] = {n for n in names if "/" not in n}
    return rows, checks


class Differences(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.transcripts = {}
        for server_cases, start_metricsd in ((CASES, servers.metricsd),
                                             (LIMIT_CASES, lambda: servers.metricsd("--max-series", "1"))):
            ours, ref = start_metricsd(), servers.reference()
            try:
                for case_id, raw in server_cases.items():
                    segs = segments(case_id, raw)
                    cls.transcripts[case_id] = (transcript(ours.addr, segs), transcript(ref.addr, segs))
            finally:
                ours.stop()
                ref.stop()

    def test_table_matches_what_the_servers_do(self):
        rows, _ = documented_differences()
        self.assertTrue(rows, "no differences table in docs/protocol.md")
        listed = {}
        for title, ids in rows.items():
            with self.subTest(row=title):
                self.assertTrue(ids, "row names no case in its checked-by column")
            for case_id in ids:
                self.assertIn(case_id, self.transcripts, "row {!r} names an unknown case".format(title))
                listed[case_id] = title
        for case_id, (ours, ref) in self.transcripts.items():
            with self.subTest(case=case_id):
                if case_id == "ts-4301-digits" and not HAS_INT_DIGIT_LIMIT:
                    continue  # this Python has no limit: the same answer
                if case_id in listed:
                    self.assertNotEqual(ours, ref, "listed under {!r} but the same".format(listed[case_id]))
                else:
                    self.assertEqual(ours, ref, "differs but is in no row of the table")

    def test_differences_are_as_described(self):
        """A few rows spelled out byte for byte, as the table says."""
        t = self.transcripts
        wrong = b"error\nwrong command\n\n"
        self.assertEqual(t["empty-line"], (wrong, b"ok\n\n"))
        self.assertEqual(t["get-two-keys"], (b"ok\n\n" + wrong, b"ok\n\nok\n\n"))
        self.assertEqual(t["tab-after-put"][1], wrong + b"ok\n\n")
        self.assertEqual(t["invalid-utf8"][1], b"", "the reference never answers")
        self.assertEqual(t["batch-puts-get"],
                         (b"ok\n\nok\n\nok\nref.batch-puts-get 1.0 1\nref.batch-puts-get 2.0 2\n\n",
                          b"ok\nref.batch-puts-get 1.0 1\nref.batch-puts-get 2.0 2\n\n"))
        self.assertEqual(t["batch-bad-line"][1], wrong + b"ok\n\n", "nothing of the batch stored")
        ours, ref = t["max-series"]
        self.assertTrue(ours.startswith(b"ok\n\nerror\n") and not ours.startswith(b"ok\n\n" + wrong), ours)
        self.assertEqual(ref, b"ok\n\nok\n\nok\nref.max-seriesb 1.0 1\n\n")


if __name__ == "__main__":
    unittest.main()
