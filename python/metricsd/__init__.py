"""metricsd for the "Diving into Python" course: run_server(host, port).

The course's grader imports a module and calls its top-level
run_server(host, port). This one serves the course's metrics protocol on
host:port with the metricsd binary (memory only, no HTTP port) and blocks
until it is interrupted, as the course's asyncio server does:

    python3 -c 'import metricsd; metricsd.run_server("127.0.0.1", 8888)'

The binary is, in this order: the file named by the METRICSD_BIN environment
variable; `metricsd` on PATH; or built with `go build` from the metricsd
checkout this package was installed from (recorded at install time) or is
part of (when used with PYTHONPATH=python). Importing this module does
nothing but define names. Standard library only, Python 3.6 or later.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

__all__ = ["BinaryNotFoundError", "find_binary", "run_server"]

# STOP_TIMEOUT bounds, in seconds, how long run_server waits for the server
# to exit after SIGTERM before it kills it.
STOP_TIMEOUT = 10

# BUILD_TIMEOUT bounds, in seconds, a `go build` of the binary.
BUILD_TIMEOUT = 600

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class BinaryNotFoundError(RuntimeError):
    """No metricsd binary could be found or built. The message names the
    three ways to provide one."""


def _how_to_provide(tried):
    return (
        "metricsd: no metricsd binary found ({}). Provide one of:\n"
        "  1. METRICSD_BIN=/path/to/metricsd in the environment;\n"
        "  2. a metricsd binary on PATH (go install ./cmd/metricsd in a checkout);\n"
        "  3. Go on PATH and this package installed from, or run from, a metricsd\n"
        "     checkout (pip install ./python, or PYTHONPATH=python), so that it\n"
        "     can go build the binary.".format("; ".join(tried))
    )


def _is_checkout(path):
    """Whether path is the root of a metricsd checkout."""
    try:
        with open(os.path.join(path, "go.mod")) as f:
            first = f.readline().split()
    except OSError:
        return False
    return first == ["module", "metricsd"] and os.path.isdir(os.path.join(path, "cmd", "metricsd"))


def _checkouts():
    """Candidate checkouts: the one recorded at install time, then the one
    this package's directory is part of (python/metricsd in a checkout)."""
    found = []
    try:
        from metricsd._checkout import CHECKOUT
    except ImportError:
        pass
    else:
        found.append(CHECKOUT)
    found.append(os.path.dirname(os.path.dirname(_PACKAGE_DIR)))
    return found


def find_binary(build_dir):
    """Return the path of a metricsd binary: $METRICSD_BIN, else metricsd on
    PATH, else one built with `go build` into build_dir (an existing
    directory the caller owns) from a metricsd checkout. Raise
    BinaryNotFoundError naming the three options when none works, and
    RuntimeError when `go build` fails."""
    tried = []
    env_bin = os.environ.get("METRICSD_BIN", "")
    if env_bin:
        if os.path.isfile(env_bin) and os.access(env_bin, os.X_OK):
            return env_bin
        raise BinaryNotFoundError(_how_to_provide(
            ["METRICSD_BIN={!r} is not an executable file".format(env_bin)]))
    tried.append("METRICSD_BIN is not set")
    on_path = shutil.which("metricsd")
    if on_path is not None:
        return on_path
    tried.append("no metricsd on PATH")
    checkout = next((c for c in _checkouts() if _is_checkout(c)), None)
    go = shutil.which("go")
    if checkout is None:
        tried.append("not installed from a metricsd checkout")
    elif go is None:
        tried.append("checkout {} found but no go on PATH".format(checkout))
    else:
        return _go_build(go, checkout, build_dir)
    raise BinaryNotFoundError(_how_to_provide(tried))


def _go_build(go, checkout, build_dir):
    """Build cmd/metricsd of checkout into build_dir; return its path."""
    binary = os.path.join(build_dir, "metricsd")
    try:
        result = subprocess.run(
            [go, "build", "-o", binary, "./cmd/metricsd"],
            cwd=checkout,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError("metricsd: go build in {} took over {}s".format(checkout, BUILD_TIMEOUT))
    if result.returncode != 0:
        raise RuntimeError("metricsd: go build in {} failed:\n{}".format(
            checkout, result.stderr.decode(errors="replace")))
    return binary


def _address(host, port):
    """host:port as metricsd's --addr takes it (IPv6 hosts in brackets)."""
    port = int(port)
    if ":" in host and not host.startswith("["):
        host = "[" + host + "]"
    return "{}:{}".format(host, port)


class _Terminated(BaseException):
    """Raised in run_server's thread by its SIGTERM handler."""


def _raise_terminated(signum, frame):
    raise _Terminated()


def _die_with_parent():
    """In the child before exec, on Linux: get SIGTERM when the thread that
    started it dies, so a killed grader leaves no server behind."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


def _stop(proc):
    """SIGTERM the server, wait STOP_TIMEOUT, then kill it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_server(host, port):
    """Serve the metrics protocol on host:port until interrupted.

    Runs `metricsd serve --addr host:port --in-memory --http-addr ''` (the
    binary as find_binary finds it) and blocks. On KeyboardInterrupt, or
    SIGTERM when called from the main thread, it stops the server and
    returns, as the course's asyncio server does. If the server exits by
    itself (the port is taken, say), RuntimeError says with which status.
    """
    address = _address(host, port)
    build_dir = tempfile.mkdtemp(prefix="metricsd-")
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    proc = None
    try:
        binary = find_binary(build_dir)
        proc = subprocess.Popen(
            [binary, "serve", "--addr", address, "--in-memory", "--http-addr", ""],
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        code = proc.wait()
    except (KeyboardInterrupt, _Terminated):
        code = None  # interrupted: stop the server and return
    finally:
        if in_main:
            # None: the previous handler was not set from Python. Restored
            # first, so a second SIGTERM while stopping ends the process.
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        try:
            if proc is not None:
                _stop(proc)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
    if code:
        raise RuntimeError("metricsd: the server on {} exited with status {}".format(address, code))
