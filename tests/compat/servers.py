"""Servers for the compatibility tests that compare metricsd with the
course's reference server: the metricsd binary (built once per test run),
the reference model (reference_server.py) and any asyncio server given as
source text. Each listens on 127.0.0.1, on a port the kernel picks, and is
stopped by stop(); every wait is bounded.
"""

import atexit
import os
import pathlib
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
TIMEOUT = 10  # seconds, for every wait on a process or socket
BUILD_TIMEOUT = 600

_METRICSD_LISTENING = re.compile(r'msg="metricsd listening" .*\baddr="?([^"\s]+)"?')
_PY_LISTENING = re.compile(r"^listening on (\S+)$")

_binary = {}


def metricsd_binary():
    """The path of a metricsd binary built from this checkout, once."""
    if "path" in _binary:
        return _binary["path"]
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the go command is not on PATH")
        raise unittest.SkipTest("the go command is not on PATH")
    tmp = tempfile.TemporaryDirectory(prefix="metricsd-ref-")
    atexit.register(tmp.cleanup)
    path = os.path.join(tmp.name, "metricsd")
    result = subprocess.run([go, "build", "-o", path, "./cmd/metricsd"], cwd=str(REPO_ROOT),
                            capture_output=True, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError("go build failed:\n" + result.stderr.decode(errors="replace"))
    _binary["path"] = path
    return path


class Process:
    """A server process whose stderr announces the address it listens on."""

    def __init__(self, argv, listening):
        self.log = queue.Queue()
        self.lines = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=str(REPO_ROOT))
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        try:
            self.host, self.port = self._wait_listening(listening)
        except BaseException:
            self.stop()
            raise
        self.addr = "{}:{}".format(self.host, self.port)

    def _read_log(self):
        for raw in self.proc.stderr:
            self.log.put(raw.decode(errors="replace").rstrip("\n"))
        self.log.put(None)

    def _wait_listening(self, pattern):
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no listening line within {}s: {}".format(TIMEOUT, self.lines))
            try:
                line = self.log.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("server exited before listening: {}".format(self.lines))
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                host, _, port = match.group(1).rpartition(":")
                return host.strip("[]"), int(port)

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        self.proc.stderr.close()


def metricsd(*extra_args):
    """metricsd serve, memory only, no HTTP."""
    return Process([metricsd_binary(), "serve", "--addr", "127.0.0.1:0", "--in-memory",
                    "--http-addr", "", *extra_args], _METRICSD_LISTENING)


def reference():
    """The model of the course's reference server."""
    return Process([sys.executable, str(HERE / "reference_server.py"), "--port", "0"], _PY_LISTENING)


def python_server(source, *args):
    """A Python server given as source; it must print "listening on
    HOST:PORT" on stderr once bound."""
    return Process([sys.executable, "-c", source, *args], _PY_LISTENING)
