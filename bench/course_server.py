#!/usr/bin/env python3
"""A course-style metrics server: the peer "course-style Python asyncio
server" of issue #3's comparison (bench/compare.sh).

It is written the way the course's reference server is: one asyncio.Protocol
whose data_received handles what arrived and answers it, and a class-level
dict as the store. It follows the protocol's semantics (docs/protocol.md:
last write wins per timestamp, points sorted by timestamp, keys in
first-insertion order),
with two deliberate differences from the reference, both written down in
docs/performance.md:

- The store is key -> {timestamp: value}, not key -> [points]: with a plain
  list, replacing a point means scanning the key's points on every put, and
  loading the comparison's 1,000,000 points would be quadratic.
- data_received splits what arrived into lines and answers each, so that a
  pipelined batch gets one answer per request, as metricsd does. The
  reference answers a segment holding several lines with one combined reply
  (one error when a line is bad), so a pipelining benchmark against it
  hangs, waiting for answers that never come. --strict answers each segment
  as one line (a multi-line segment gets one error); the faithful model of
  the reference is tests/compat/reference_server.py.

Usage: course_server.py [--host 127.0.0.1] [--port 8888] [--strict]
Standard library only. Prints "listening on HOST:PORT" once bound.
"""

import argparse
import asyncio
import sys

OK = "ok\n\n"
WRONG = "error\nwrong command\n\n"


class Storage:
    """key -> {timestamp: value}; dicts keep first-insertion order."""

    def __init__(self):
        self.data = {}

    def put(self, key, value, timestamp):
        self.data.setdefault(key, {})[timestamp] = value

    def get(self, key):
        if key == "*":
            keys = self.data.keys()
        elif key in self.data:
            keys = (key,)
        else:
            keys = ()
        out = ["ok\n"]
        for k in keys:
            points = self.data[k]
            for ts in sorted(points):
                out.append(f"{k} {points[ts]} {ts}\n")
        out.append("\n")
        return "".join(out)


def process(storage, line):
    """Answers one request line, as the reference server does."""
    tokens = line.split()
    try:
        if tokens[0] == "put" and len(tokens) == 4:
            storage.put(tokens[1], float(tokens[2]), int(tokens[3]))
            return OK
        if tokens[0] == "get" and len(tokens) == 2:
            return storage.get(tokens[1])
    except (IndexError, ValueError):
        pass
    return WRONG


class MetricsProtocol(asyncio.Protocol):
    """One connection. The storage and mode are set on the class by main."""

    storage = Storage()
    strict = False

    def connection_made(self, transport):
        self.transport = transport
        self.pending = b""

    def data_received(self, data):
        if self.strict:
            try:
                answer = process(self.storage, data.decode())
            except UnicodeDecodeError:
                answer = WRONG
            self.transport.write(answer.encode())
            return
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        answers = []
        for raw in lines:
            try:
                answers.append(process(self.storage, raw.decode()))
            except UnicodeDecodeError:
                answers.append(WRONG)
        if answers:
            self.transport.write("".join(answers).encode())


async def serve(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(MetricsProtocol, host, port)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8888)
    ap.add_argument("--strict", action="store_true",
                    help="treat each received segment as one request, as the reference does")
    args = ap.parse_args()
    MetricsProtocol.strict = args.strict
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
