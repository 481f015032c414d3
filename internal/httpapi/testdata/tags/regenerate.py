#!/usr/bin/env python3
"""Regenerates golden.json: graphite-web 1.1.8's answers to requests.txt
over the series of series.txt, fed through carbon 1.1.7 with tags enabled.

  bash /work/shared/graphite-peer/setup_graphite.sh /tmp/g 22000 22001 22002 22003 tags
  python3 regenerate.py 22000 22003 > golden.json

Use a fresh scratch directory: graphite-web's tag database must hold only
these series. Each golden row is the request, the status and the JSON body;
TestTagEndpointsMatchGraphiteWeb replays them against metricsd.
"""
import json
import socket
import sys
import time
import urllib.error
import urllib.request

line_port, web_port = int(sys.argv[1]), int(sys.argv[2])
base = 'http://127.0.0.1:%d' % web_port
here = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'
series = [s for s in open(here + '/series.txt').read().split('\n') if s]
now = int(time.time())
with socket.create_connection(('127.0.0.1', line_port)) as c:
    c.sendall(''.join('%s %d %d\n' % (s, i + 1, now) for i, s in enumerate(series)).encode())


def ask(method, path, body=None):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header('Content-Type', 'application/x-www-form-urlencoded')
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# carbon tags a series in graphite-web after creating its whisper file:
# wait until every distinct series is in the tag database.
deadline = time.time() + 120
while True:
    status, body = ask('GET', '/tags/findSeries?expr=name!=')
    if status == 200 and len(body) >= 13:
        break
    if time.time() > deadline:
        sys.exit('graphite-web has %r after 120 s' % (body,))
    time.sleep(0.5)

rows = []
for line in open(here + '/requests.txt'):
    line = line.rstrip('\n')
    if not line:
        continue
    parts = line.split(' ', 2)
    method, path = parts[0], parts[1]
    body = parts[2] if len(parts) > 2 else None
    status, answer = ask(method, path, body)
    rows.append({'method': method, 'path': path, 'body': body, 'status': status, 'answer': answer})
json.dump(rows, sys.stdout, indent=1, sort_keys=True)
print()
