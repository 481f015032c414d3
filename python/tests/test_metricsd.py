"""Tests of the metricsd Python package (python/metricsd): importing it has no
side effects, find_binary's three ways and its error, run_server driven by a
course-style client and stopped by SIGTERM or SIGINT, and an offline
`pip install --no-index ./python` into a fresh venv.

Run from the repository root:

    python3 -m unittest discover -s python/tests -v

Each test runs Python in a subprocess with a bounded timeout; servers listen
on 127.0.0.1 on a port the kernel picked.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO_ROOT / "python"
sys.path.insert(0, str(REPO_ROOT / "tests" / "compat"))

from course_client import Client  # noqa: E402

TIMEOUT = 20  # seconds, for every process wait and socket operation
BUILD_TIMEOUT = 600

_build = {}


def setUpModule():
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the go command is not on PATH")
        raise unittest.SkipTest("the go command is not on PATH")
    tmp = tempfile.TemporaryDirectory(prefix="metricsd-pytest-")
    binary = os.path.join(tmp.name, "metricsd")
    result = subprocess.run([go, "build", "-o", binary, "./cmd/metricsd"],
                            cwd=str(REPO_ROOT), capture_output=True, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        tmp.cleanup()
        raise RuntimeError("go build failed:\n" + result.stderr.decode(errors="replace"))
    _build.update(dir=tmp, binary=binary, go=go)


def tearDownModule():
    tmp = _build.pop("dir", None)
    if tmp is not None:
        tmp.cleanup()


def free_port():
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir_with(tmp, **links):
    """A directory holding symlinks name -> target, to use as PATH."""
    d = os.path.join(tmp, "bin")
    os.makedirs(d, exist_ok=True)
    for name, target in links.items():
        os.symlink(target, os.path.join(d, name))
    return d


def clean_env(path, **extra):
    """An environment without METRICSD_BIN, with PATH=path."""
    env = {k: v for k, v in os.environ.items() if k not in ("METRICSD_BIN", "PYTHONPATH")}
    env["PATH"] = path
    env.update(extra)
    return env


def python(code, env, cwd, python_path=str(PYTHON_DIR), executable=sys.executable):
    """Run code in a fresh interpreter; return the CompletedProcess."""
    env = dict(env)
    if python_path is not None:
        env["PYTHONPATH"] = python_path
    return subprocess.run([executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, timeout=BUILD_TIMEOUT)


# A stand-in for go: logs its directory and arguments, and copies $REAL_BIN
# to the -o path.
FAKE_GO = """#!/bin/sh
pwd > "$FAKE_GO_LOG"
echo "$1 $2" >> "$FAKE_GO_LOG"
echo "$4" >> "$FAKE_GO_LOG"
cp "$REAL_BIN" "$3"
"""

FIND = "import metricsd, tempfile; print(metricsd.find_binary(tempfile.mkdtemp()))"


class Import(unittest.TestCase):
    def test_import_has_no_side_effects(self):
        code = r"""
import json, os, signal, sys, threading
before = dict(env=dict(os.environ), threads=threading.active_count(),
              handlers=[str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
              files=sorted(os.listdir(".")) + sorted(os.listdir(os.environ["TMPDIR"])))
import metricsd
after = dict(env=dict(os.environ), threads=threading.active_count(),
             handlers=[str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
             files=sorted(os.listdir(".")) + sorted(os.listdir(os.environ["TMPDIR"])))
print(json.dumps([before, after, sorted(metricsd.__all__)]))
"""
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = os.path.join(tmp, "tmp")
            os.mkdir(tmpdir)
            env = clean_env(os.environ["PATH"], TMPDIR=tmpdir, HOME=tmp)
            result = python(code, env, cwd=tmp)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stderr, b"")
            before, after, names = json.loads(result.stdout)
            self.assertEqual(before, after)
            self.assertEqual(names, ["BinaryNotFoundError", "find_binary", "run_server"])
            # No process was started: nothing built, nothing left behind.
            self.assertEqual(os.listdir(tmpdir), [])


class Syntax(unittest.TestCase):
    def test_python_3_6_grammar(self):
        """The course's grader runs Python 3.6: the package and its build
        backend must parse with 3.6's grammar (ast's best-effort check)."""
        import ast
        files = sorted((PYTHON_DIR / "metricsd").glob("*.py")) + [PYTHON_DIR / "metricsd_backend.py"]
        for path in files:
            with self.subTest(path=path.name):
                ast.parse(path.read_text(), filename=str(path), feature_version=(3, 6))


class FindBinary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="metricsd-find-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def find(self, env, **kw):
        return python(FIND, env, cwd=self.tmp, **kw)

    def test_metricsd_bin_first(self):
        on_path = bin_dir_with(self.tmp, metricsd="/bin/true")
        result = self.find(clean_env(on_path, METRICSD_BIN=_build["binary"]))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode().strip(), _build["binary"])

    def test_metricsd_bin_not_executable_is_an_error(self):
        result = self.find(clean_env("/nonexistent", METRICSD_BIN=os.path.join(self.tmp, "nope")))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"BinaryNotFoundError", result.stderr)
        self.assertIn(b"METRICSD_BIN=", result.stderr)

    def test_path_second(self):
        on_path = bin_dir_with(self.tmp, metricsd=_build["binary"], go=_build["go"])
        result = self.find(clean_env(on_path))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode().strip(), os.path.join(on_path, "metricsd"))

    def test_go_build_from_checkout_third(self):
        on_path = bin_dir_with(self.tmp, go=_build["go"])
        code = FIND + "\nimport subprocess, sys\n" \
            "out = subprocess.run([metricsd.find_binary(tempfile.mkdtemp()), 'version'], " \
            "stdout=subprocess.PIPE, check=True).stdout\nsys.stdout.buffer.write(out)"
        result = python(code, clean_env(on_path), cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        built, version = result.stdout.decode().splitlines()[-2:]
        self.assertTrue(built.endswith("/metricsd"), built)
        self.assertTrue(version.startswith("metricsd "), version)

    def test_error_names_the_three_options(self):
        # A copy of the package outside any checkout, no metricsd and no go.
        shutil.copytree(str(PYTHON_DIR / "metricsd"), os.path.join(self.tmp, "pkg", "metricsd"),
                        ignore=shutil.ignore_patterns("__pycache__", "_checkout.py"))
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        result = self.find(clean_env(empty), python_path=os.path.join(self.tmp, "pkg"))
        self.assertNotEqual(result.returncode, 0)
        err = result.stderr.decode()
        self.assertIn("BinaryNotFoundError", err)
        for option in ("METRICSD_BIN", "on PATH", "go build"):
            self.assertIn(option, err)


class RunServer(unittest.TestCase):
    """run_server in a child interpreter, driven by the course's client."""

    def start(self, env, executable=sys.executable, python_path=str(PYTHON_DIR), cwd=None):
        port = free_port()
        env = dict(env)
        if python_path is not None:
            env["PYTHONPATH"] = python_path
        code = "import metricsd; metricsd.run_server('127.0.0.1', {})\nprint('returned')".format(port)
        proc = subprocess.Popen([executable, "-c", code], env=env, cwd=cwd or str(REPO_ROOT),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, proc)
        deadline = time.monotonic() + BUILD_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
                return proc, port
            except OSError:
                pass
            if proc.poll() is not None:
                self.fail("run_server exited: {}".format(proc.stderr.read().decode(errors="replace")))
            if time.monotonic() > deadline:
                self.fail("run_server did not listen on {}".format(port))
            time.sleep(0.05)  # polling for the port, with a deadline

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()

    def drive(self, port):
        c1 = Client("127.0.0.1", port, timeout=TIMEOUT)
        c2 = Client("127.0.0.1", port, timeout=TIMEOUT)
        c1.put("k1", 0.25, timestamp=1)
        c2.put("k1", 2.156, timestamp=2)
        c1.put("k2", 30, timestamp=4)
        want = {"k1": [(1, 0.25), (2, 2.156)], "k2": [(4, 30.0)]}
        self.assertEqual(c2.get("*"), want)
        self.assertEqual(c1.get("k2"), {"k2": want["k2"]})
        c1.close()
        c2.close()

    def assert_stopped(self, proc, port):
        out, err = proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, b"returned\n")
        self.assertIn(b"metricsd stopped", err)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()

    def test_sigterm_stops_it(self):
        proc, port = self.start(clean_env(os.environ["PATH"], METRICSD_BIN=_build["binary"]))
        self.drive(port)
        proc.send_signal(signal.SIGTERM)
        self.assert_stopped(proc, port)

    def test_keyboard_interrupt_stops_it(self):
        proc, port = self.start(clean_env(os.environ["PATH"], METRICSD_BIN=_build["binary"]))
        self.drive(port)
        proc.send_signal(signal.SIGINT)  # to the interpreter only, not to metricsd
        self.assert_stopped(proc, port)

    def test_port_taken_is_an_error(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            code = "import metricsd; metricsd.run_server('127.0.0.1', {})".format(port)
            env = clean_env(os.environ["PATH"], METRICSD_BIN=_build["binary"])
            result = python(code, env, cwd=str(REPO_ROOT))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("exited with status".encode(), result.stderr)

    def test_pip_install_offline_in_fresh_venv(self):
        tmp = tempfile.mkdtemp(prefix="metricsd-venv-")
        self.addCleanup(shutil.rmtree, tmp)
        venv = os.path.join(tmp, "venv")
        made = subprocess.run([sys.executable, "-m", "venv", venv], timeout=BUILD_TIMEOUT, capture_output=True)
        if made.returncode != 0:
            if os.environ.get("CI") == "true":
                self.fail("python3 -m venv failed (.ci/run installs python3-venv): {!r}".format(made.stderr))
            self.skipTest("python3 -m venv fails here (apt-get install python3-venv): {!r}".format(made.stderr))
        pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index",
                              "--disable-pip-version-check", str(PYTHON_DIR)],
                             capture_output=True, timeout=BUILD_TIMEOUT)
        self.assertEqual(pip.returncode, 0, pip.stdout + pip.stderr)
        # No metricsd on PATH and no METRICSD_BIN: the installed package
        # runs go build in the checkout it recorded. The go here is a stand-in
        # that notes where it ran and "builds" by copying the binary already
        # built (test_go_build_from_checkout_third runs the real go build).
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        fake_go = os.path.join(bin_dir, "go")
        with open(fake_go, "w") as f:
            f.write(FAKE_GO)
        os.chmod(fake_go, 0o755)
        go_log = os.path.join(tmp, "go.log")
        env = clean_env(bin_dir + os.pathsep + "/usr/bin:/bin", FAKE_GO_LOG=go_log, REAL_BIN=_build["binary"])
        proc, port = self.start(env, executable=os.path.join(venv, "bin", "python"), python_path=None, cwd=tmp)
        self.drive(port)
        proc.send_signal(signal.SIGTERM)
        self.assert_stopped(proc, port)
        with open(go_log) as f:
            self.assertEqual(f.read().splitlines(), [str(REPO_ROOT), "build -o", "./cmd/metricsd"])
        # An editable install (PEP 660) imports the checkout's own package.
        pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index",
                              "--disable-pip-version-check", "-e", str(PYTHON_DIR)],
                             capture_output=True, timeout=BUILD_TIMEOUT)
        self.assertEqual(pip.returncode, 0, pip.stdout + pip.stderr)
        where = python("import metricsd; print(metricsd.__file__)", env, cwd=tmp,
                       python_path=None, executable=os.path.join(venv, "bin", "python"))
        self.assertEqual(where.stdout.decode().strip(), str(PYTHON_DIR / "metricsd" / "__init__.py"), where.stderr)


if __name__ == "__main__":
    unittest.main()
