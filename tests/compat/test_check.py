"""`metricsd check` against metricsd itself (every check passes), against
deliberately broken asyncio servers (each bug caught by the named check,
exit status 1), and against the model of the course's reference server
(exactly the differences docs/protocol.md lists, as DIFF).

Run from the repository root:

    python3 -m unittest discover -s tests/compat -v
"""

import concurrent.futures
import json
import pathlib
import subprocess
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import servers  # noqa: E402
from test_reference import documented_differences  # noqa: E402

CHECK_TIMEOUT = 120  # seconds for a whole `metricsd check` run

# A server that is right but for one bug, chosen by its first argument. It
# answers line by line, as metricsd does, so only the bug shows.
BROKEN = r'''
import asyncio, sys

BUG = sys.argv[1]
store = {}

def fmt(v):
    if BUG == "int-format" and v == int(v):
        return str(int(v))
    return repr(v)

def answer(line):
    tokens = line.split()
    if BUG == "crash-on-bare-get" and tokens[:1] == ["get"]:
        key = tokens[1]  # IndexError on a bare get: the connection dies
    try:
        if tokens[0] == "put" and len(tokens) == 4:
            store.setdefault(tokens[1], {})[int(tokens[3])] = float(tokens[2])
            return "ok\n\n" if BUG != "ok-one-newline" else "ok\n"
        if tokens[0] == "get" and len(tokens) == 2:
            keys = list(store) if tokens[1] == "*" else [k for k in store if k == tokens[1]]
            rows = "".join("{} {} {}\n".format(k, fmt(store[k][ts]), ts)
                           for k in keys for ts in sorted(store[k]))
            return "ok\n" + rows + "\n"
    except (IndexError, ValueError):
        pass
    return "error\nwrong command\n\n"

class Proto(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.pending = transport, b""

    def data_received(self, data):
        *lines, self.pending = (self.pending + data).split(b"\n")
        replies = []
        for raw in lines:
            try:
                replies.append(answer(raw.decode()))
            except UnicodeDecodeError:
                replies.append("error\nwrong command\n\n")
        if BUG == "one-reply-per-segment":
            replies = replies[:1]
        if replies:
            self.transport.write("".join(replies).encode())
            if BUG == "close-after-reply":
                self.transport.close()

async def main():
    server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0)
    print("listening on {}:{}".format(*server.sockets[0].getsockname()[:2]), file=sys.stderr, flush=True)
    await server.serve_forever()

asyncio.run(main())
'''

# bug -> (the check that must catch it, its field, a text that field holds)
BUGS = {
    "one-reply-per-segment": ("framing/pipelined", "received", r'"ok\n\n"'),
    "int-format": ("replies/float-10", "received", r" 10 1\n\n"),
    "close-after-reply": ("course/acceptance", "note", "closed by the server"),
    "crash-on-bare-get": ("replies/error-bare-get", "note", "closed by the server"),
    "ok-one-newline": ("course/acceptance", "received", r'"ok\n"'),
}


def check(addr, *flags):
    """Run metricsd check --json; return (exit status, parsed output)."""
    result = subprocess.run([servers.metricsd_binary(), "check", "--json", *flags, addr],
                            capture_output=True, timeout=CHECK_TIMEOUT)
    try:
        out = json.loads(result.stdout)
    except ValueError:
        raise AssertionError("not JSON: {!r} {!r}".format(result.stdout, result.stderr))
    return result.returncode, out


def by_name(out):
    return {c["check"]: c for c in out["checks"]}


class CheckMetricsd(unittest.TestCase):
    def test_every_check_passes(self):
        server = servers.metricsd()
        self.addCleanup(server.stop)
        code, out = check(server.addr)
        failing = [c for c in out["checks"] if c["status"] != "PASS"]
        self.assertEqual(failing, [])
        self.assertEqual(code, 0)
        self.assertTrue(out["ok"])


class CheckBrokenServers(unittest.TestCase):
    def test_each_bug_is_caught_by_its_check(self):
        started = {bug: servers.python_server(BROKEN, bug) for bug in BUGS}
        for s in started.values():
            self.addCleanup(s.stop)
        # Each run is of the check that must catch the bug (a whole run
        # of a server that never completes a reply waits out every check's
        # timeout), all in parallel to bound the test's time.
        with concurrent.futures.ThreadPoolExecutor(len(BUGS)) as pool:
            runs = {bug: pool.submit(check, s.addr, "--only", BUGS[bug][0])
                    for bug, s in started.items()}
            results = {bug: f.result() for bug, f in runs.items()}
        for bug, (name, field, evidence) in BUGS.items():
            with self.subTest(bug=bug):
                code, out = results[bug]
                self.assertEqual(code, 1)
                self.assertFalse(out["ok"])
                c = by_name(out)[name]
                self.assertEqual(c["status"], "FAIL", c)
                self.assertIn(evidence, c[field], c)


class CheckReference(unittest.TestCase):
    def test_only_the_documented_differences(self):
        server = servers.reference()
        self.addCleanup(server.stop)
        code, out = check(server.addr)
        statuses = {c["check"]: c["status"] for c in out["checks"]}
        self.assertNotIn("FAIL", statuses.values(), [c for c in out["checks"] if c["status"] == "FAIL"])
        diffs = {name for name, status in statuses.items() if status == "DIFF"}
        _, documented_checks = documented_differences()
        self.assertEqual(diffs, documented_checks)
        self.assertEqual(code, 1, "DIFFs fail without --allow-known")
        code, out = check(server.addr, "--allow-known")
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main()
