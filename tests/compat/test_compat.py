"""Compatibility tests: the real metricsd binary against the course's client
behaviour and the byte-exact examples of docs/protocol.md.

Run from the repository root:

    python3 -m unittest discover -s tests/compat -v

The binary is built once with `go build` into a temporary directory; each
test starts its own `metricsd serve --addr 127.0.0.1:0`, reads the bound
address from the "metricsd listening" log line and stops the server in a
cleanup. Every socket and process operation has a timeout.
"""

import os
import pathlib
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from course_client import Client, ClientError  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = 10  # seconds, for every socket operation and process wait
BUILD_TIMEOUT = 600
LISTENING = re.compile(r'msg="metricsd listening" .*\baddr="?([^"\s]+)"?')

_build = {}


def setUpModule():
    go = shutil.which("go")
    if go is None:
        raise unittest.SkipTest("the go command is not on PATH")
    tmp = tempfile.TemporaryDirectory(prefix="metricsd-compat-")
    binary = os.path.join(tmp.name, "metricsd")
    result = subprocess.run(
        [go, "build", "-o", binary, "./cmd/metricsd"],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=BUILD_TIMEOUT,
    )
    if result.returncode != 0:
        tmp.cleanup()
        raise RuntimeError("go build failed:\n" + result.stderr.decode(errors="replace"))
    _build["dir"] = tmp
    _build["binary"] = binary


def tearDownModule():
    tmp = _build.pop("dir", None)
    if tmp is not None:
        tmp.cleanup()


class Server:
    """A running `metricsd serve` on an ephemeral port of 127.0.0.1."""

    def __init__(self, *extra_args):
        self.log = queue.Queue()
        self.lines = []
        self.proc = subprocess.Popen(
            [_build["binary"], "serve", "--addr", "127.0.0.1:0", "--in-memory", "--http-addr", "", *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        try:
            self.host, self.port = self._wait_listening()
        except BaseException:
            self.stop()
            raise

    def _read_log(self):
        for raw in self.proc.stderr:
            self.log.put(raw.decode(errors="replace").rstrip("\n"))
        self.log.put(None)

    def _wait_listening(self):
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no listening line within {TIMEOUT}s: {self.lines}")
            try:
                line = self.log.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"server exited before listening: {self.lines}")
            self.lines.append(line)
            match = LISTENING.search(line)
            if match:
                host, _, port = match.group(1).rpartition(":")
                return host.strip("[]"), int(port)

    def connect(self):
        """A raw socket to the server, with a timeout on every operation."""
        return socket.create_connection((self.host, self.port), timeout=TIMEOUT)

    def stop(self, sig=signal.SIGTERM):
        """Signal the server, wait a bounded time, kill it if needed; return
        its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        self.proc.stderr.close()
        return self.proc.returncode


class ServerTestCase(unittest.TestCase):
    """Starts a fresh server for each test; it is always stopped."""

    def setUp(self):
        self.server = Server()
        self.addCleanup(self.server.stop)

    def client(self):
        c = Client(self.server.host, self.server.port, timeout=TIMEOUT)
        self.addCleanup(c.close)
        return c

    def raw(self):
        sock = self.server.connect()
        self.addCleanup(sock.close)
        return sock


def read_response(sock):
    """Read exactly one response: bytes up to and including the first empty
    line. A single request is outstanding, so nothing follows it."""
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {data!r}")
        data += chunk
    return data


def read_to_end(sock):
    """Half-close the socket and read until the server closes it."""
    sock.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


# The example session of the protocol page, requests as telnet sends them.
SESSION = [
    (b"put test_key 12.0 1503319740\r\n", b"ok\n\n"),
    (b"put test_key 13.0 1503319739\r\n", b"ok\n\n"),
    (b"get test_key\r\n",
     b"ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\n\n"),
    (b"put another_key 10 1503319739\r\n", b"ok\n\n"),
    (b"get *\r\n",
     b"ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\n"
     b"another_key 10.0 1503319739\n\n"),
    (b"got test_key\r\n", b"error\nwrong command\n\n"),
]

WRONG = b"error\nwrong command\n\n"
OK = b"ok\n\n"


def point(key, value, ts):
    return b"ok\n" + f"{key} {value} {ts}\n\n".encode()


# Byte-exact checks from the protocol page: formatting, grammar, framing.
EXTRA = [
    # repr() of values
    (b"put a 10 1\n", OK), (b"get a\n", point("a", "10.0", 1)),
    (b"put b 1e16 1\n", OK), (b"get b\n", point("b", "1e+16", 1)),
    (b"put c -0 1\n", OK), (b"get c\n", point("c", "-0.0", 1)),
    (b"put d NaN 1\n", OK), (b"get d\n", point("d", "nan", 1)),
    (b"put e 1e400 1\n", OK), (b"get e\n", point("e", "inf", 1)),
    (b"put e2 -Infinity 1\n", OK), (b"get e2\n", point("e2", "-inf", 1)),
    (b"put f 1_000.5 1\n", OK), (b"get f\n", point("f", "1000.5", 1)),
    (b"put g1 0.0001 1\n", OK), (b"get g1\n", point("g1", "0.0001", 1)),
    (b"put g2 .00001 1\n", OK), (b"get g2\n", point("g2", "1e-05", 1)),
    (b"put g3 4.2e6 1\n", OK), (b"get g3\n", point("g3", "4200000.0", 1)),
    (b"put g4 1234567890123456.8 1\n", OK),
    (b"get g4\n", point("g4", "1234567890123456.8", 1)),
    (b"put g5 15e15 1\n", OK), (b"get g5\n", point("g5", "1.5e+16", 1)),
    (b"put g6 123456789012345678 1\n", OK),
    (b"get g6\n", point("g6", "1.2345678901234568e+17", 1)),
    (b"put g7 5. 1\n", OK), (b"get g7\n", point("g7", "5.0", 1)),
    (b"put g8 1e-400 1\n", OK), (b"get g8\n", point("g8", "0.0", 1)),
    # timestamps as int()
    (b"put h1 1 +5\n", OK), (b"get h1\n", point("h1", "1.0", 5)),
    (b"put h2 1 -0\n", OK), (b"get h2\n", point("h2", "1.0", 0)),
    (b"put h3 1 007\n", OK), (b"get h3\n", point("h3", "1.0", 7)),
    (b"put h4 1 1_000\n", OK), (b"get h4\n", point("h4", "1.0", 1000)),
    # last write wins, points sorted
    (b"put i 1 2\n", OK), (b"put i 2 1\n", OK), (b"put i 3 2\n", OK),
    (b"get i\n", b"ok\ni 2.0 1\ni 3.0 2\n\n"),
    # whitespace as str.split() sees it, ASCII and Unicode
    (b"  put\tw \x0b1\x0c  2 \r\n", OK), (b"get w\n", point("w", "1.0", 2)),
    ("put\u00a0w2\u30001\u20282\n".encode(), OK),
    (b"get w2\n", point("w2", "1.0", 2)),
    # unknown keys
    (b"get nothing\n", OK),
    # malformed requests
    (b"put x 0x10 1\n", WRONG), (b"put x . 1\n", WRONG), (b"put x 1e 1\n", WRONG),
    (b"put x 1__0 1\n", WRONG), (b"put x _1 1\n", WRONG), (b"put x 1_ 1\n", WRONG),
    (b"put x 1 5.0\n", WRONG), (b"put x 1 1e3\n", WRONG),
    (b"put x 1 9223372036854775808\n", WRONG),
    (b"put x 1\n", WRONG), (b"put x 1 2 3\n", WRONG),
    (b"get\n", WRONG), (b"get a b\n", WRONG), (b"PUT x 1 1\n", WRONG),
    (b"\n", WRONG), (b" \t\r\n", WRONG),
    # invalid UTF-8 is an error, and the session goes on
    (b"put \xff\xfe 1 1\n", WRONG), (b"put u 1 1\n", OK),
    (b"\xc3\n", WRONG), (b"get u\n", point("u", "1.0", 1)),
    # nothing malformed was stored
    (b"get x\n", OK),
    # a line over the 64 KiB limit: one error, then the session goes on
    (b"put " + b"y" * (70 << 10) + b" 1 1\n", WRONG), (b"get y\n", OK),
]


class CourseCheck(ServerTestCase):
    """The course grader's scenario, through the course's client."""

    def test_malformed_commands_raise(self):
        for c in (self.client(), self.client()):
            for raw in (b"put key value\n", b"get\n", b"malformed command test\n"):
                with self.subTest(raw=raw):
                    with self.assertRaises(ClientError):
                        c._command(raw)

    def test_put_get(self):
        c1, c2 = self.client(), self.client()
        with self.assertRaises(ClientError):
            c1._command(b"put key value\n")
        with self.assertRaises(ClientError):
            c2._command(b"get\n")
        c1.put("k1", 0.25, timestamp=1)
        c2.put("k1", 2.156, timestamp=2)
        c1.put("k1", 0.35, timestamp=3)
        c2.put("k2", 30, timestamp=4)
        c1.put("k2", 40, timestamp=5)
        c1.put("k2", 40, timestamp=5)
        want = {
            "k1": [(1, 0.25), (2, 2.156), (3, 0.35)],
            "k2": [(4, 30.0), (5, 40.0)],
        }
        for c in (c1, c2):
            self.assertEqual(c.get("*"), want)
            self.assertEqual(c.get("k2"), {"k2": want["k2"]})
            self.assertEqual(c.get("k3"), {})

    def test_default_timestamp(self):
        c = self.client()
        before = int(time.time())
        c.put("now", 1.5)
        after = int(time.time())
        ((ts, value),) = c.get("now")["now"]
        self.assertEqual(value, 1.5)
        self.assertTrue(before <= ts <= after, (before, ts, after))


class ByteExact(ServerTestCase):
    """Raw sockets, responses compared byte for byte with the protocol page."""

    def run_one_at_a_time(self, exchanges):
        sock = self.raw()
        for request, want in exchanges:
            sock.sendall(request)
            self.assertEqual(read_response(sock), want, f"request {request[:80]!r}")
        self.assertEqual(read_to_end(sock), b"", "bytes after the last response")

    def run_pipelined(self, exchanges):
        sock = self.raw()
        sock.sendall(b"".join(request for request, _ in exchanges))
        want = b"".join(response for _, response in exchanges)
        self.assertEqual(read_to_end(sock), want)

    def test_session_one_at_a_time(self):
        self.run_one_at_a_time(SESSION)

    def test_session_pipelined(self):
        self.run_pipelined(SESSION)

    def test_session_byte_by_byte(self):
        sock = self.raw()
        for request, want in SESSION:
            for i in range(len(request)):
                sock.sendall(request[i:i + 1])
            self.assertEqual(read_response(sock), want, f"request {request!r}")

    def test_extra_one_at_a_time(self):
        self.run_one_at_a_time(EXTRA)

    def test_extra_pipelined(self):
        self.run_pipelined(EXTRA)


class Lifecycle(unittest.TestCase):
    """The server stops cleanly on SIGINT and SIGTERM."""

    def test_signals_exit_zero(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = Server()
                self.addCleanup(server.stop, signal.SIGKILL)
                c = Client(server.host, server.port, timeout=TIMEOUT)
                c.put("k", 1.0, timestamp=1)
                c.close()
                self.assertEqual(server.stop(sig), 0, server.lines)


if __name__ == "__main__":
    unittest.main()
