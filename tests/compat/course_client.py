"""A client that behaves like the reference client of the course
"Diving into Python" (weeks 5 and 6), standard library only.

It keeps one synchronous socket, sends one request line at a time and reads
until the buffer ends with an empty line ("\\n\\n"). Every failure, be it the
server's "error" answer, a malformed response or a socket error, raises
ClientError, as the course's client does.
"""

import socket
import time


class ClientError(Exception):
    """Raised for the server's error answers, malformed responses and
    socket errors."""


class Client:
    """Client(host, port, timeout=None) connects at once."""

    def __init__(self, host, port, timeout=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        try:
            self.connection = socket.create_connection((host, port), timeout)
        except OSError as err:
            raise ClientError("error creating connection", err) from err

    def _send(self, raw):
        """Send raw bytes as they are (used by tests for malformed input)."""
        try:
            self.connection.sendall(raw)
        except OSError as err:
            raise ClientError("error sending data", err) from err

    def _read(self):
        """Read one response; return its payload or raise ClientError."""
        data = b""
        while not data.endswith(b"\n\n"):
            try:
                chunk = self.connection.recv(1024)
            except OSError as err:
                raise ClientError("error receiving data", err) from err
            if not chunk:
                # The course's client would loop forever here.
                raise ClientError("connection closed by the server", data)
            data += chunk
        try:
            decoded = data.decode()
        except UnicodeDecodeError as err:
            raise ClientError("response is not UTF-8", data) from err
        status, payload = decoded.split("\n", 1)
        payload = payload.strip()
        if status == "error":
            raise ClientError(payload)
        if status != "ok":
            raise ClientError("unexpected status", status)
        return payload

    def _command(self, raw):
        """Send raw bytes and read one response's payload."""
        self._send(raw)
        return self._read()

    def put(self, key, value, timestamp=None):
        """Store value under key at timestamp (default: now)."""
        timestamp = timestamp or int(time.time())
        self._command(f"put {key} {value} {timestamp}\n".encode())

    def get(self, key):
        """Return {key: [(timestamp, value), ...]} sorted by timestamp."""
        payload = self._command(f"get {key}\n".encode())
        data = {}
        if payload == "":
            return data
        for row in payload.split("\n"):
            try:
                row_key, value, timestamp = row.split()
                point = (int(timestamp), float(value))
            except ValueError as err:
                raise ClientError("malformed response line", row) from err
            data.setdefault(row_key, []).append(point)
        for points in data.values():
            points.sort(key=lambda point: point[0])
        return data

    def close(self):
        """Close the connection."""
        try:
            self.connection.close()
        except OSError as err:
            raise ClientError("error closing connection", err) from err
