#!/usr/bin/env python3
"""A model of the course's reference server ("Diving into Python", week 6),
written from its observable behaviour, to run the same inputs against it and
metricsd (test_reference.py) and to check `metricsd check` (test_check.py).

What it does, as the reference does:

- data_received appends to a per-connection buffer and does nothing until
  the buffer decodes as UTF-8 and ends in "\\n". Invalid UTF-8 therefore
  never decodes: that connection is never answered again.
- The whole buffer is then one batch: split on "\\n", empty parts skipped
  (so an empty line alone is answered "ok\\n\\n"), each part stripped and
  split once on a single space into command and parameters. `put` splits
  its parameters with str.split() into exactly key, float(value) and
  int(timestamp); `get` takes all of the parameters, spaces included, as
  the key. Any failure makes the whole batch one "error\\nwrong command\\n\\n"
  and nothing of it is stored.
- Otherwise every command runs in order and the batch gets one reply: "ok\\n",
  the points of every get of the batch, "\\n". A key holds
  {timestamp: value} (last write wins); points print sorted by timestamp,
  keys in first-insertion order, values with str(float), i.e. repr.

Usage: reference_server.py [--host 127.0.0.1] [--port 0]
Prints "listening on HOST:PORT" on stderr once bound. Standard library only.
"""

import argparse
import asyncio
import sys


class ParseError(ValueError):
    """A batch holds a line the reference cannot parse."""


class Storage:
    """key -> {timestamp: value}; dicts keep first-insertion order."""

    def __init__(self):
        self.data = {}

    def put(self, key, value, timestamp):
        self.data.setdefault(key, {})[timestamp] = value

    def get(self, key):
        if key == "*":
            selected = self.data
        else:
            selected = {key: self.data.get(key, {})}
        return {k: sorted(points.items()) for k, points in selected.items()}


def decode(text):
    """The batch's commands, or ParseError for the whole batch."""
    commands = []
    for part in text.split("\n"):
        if not part:
            continue
        try:
            command, params = part.strip().split(" ", 1)
            if command == "put":
                key, value, timestamp = params.split()
                commands.append(("put", key, float(value), int(timestamp)))
            elif command == "get":
                commands.append(("get", params))
            else:
                raise ValueError(command)
        except ValueError:
            raise ParseError("wrong command")
    return commands


def encode(results):
    """One reply for the batch: every get's points, then the empty line."""
    rows = []
    for result in results:
        if not result:
            continue
        for key, points in result.items():
            for timestamp, value in points:
                rows.append("{} {} {}".format(key, value, timestamp))
    reply = "ok\n"
    if rows:
        reply += "\n".join(rows) + "\n"
    return reply + "\n"


class ReferenceProtocol(asyncio.Protocol):
    """One connection; the storage is shared by the class, as the
    reference's is."""

    storage = Storage()

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        try:
            text = self.buffer.decode()
        except UnicodeDecodeError:
            return
        if not text.endswith("\n"):
            return
        self.buffer = b""
        try:
            commands = decode(text)
        except ParseError as err:
            self.transport.write("error\n{}\n\n".format(err).encode())
            return
        results = []
        for command in commands:
            if command[0] == "put":
                results.append(self.storage.put(*command[1:]))
            else:
                results.append(self.storage.get(command[1]))
        self.transport.write(encode(results).encode())


async def serve(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(ReferenceProtocol, host, port)
    bound = server.sockets[0].getsockname()
    print("listening on {}:{}".format(bound[0], bound[1]), file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
