#!/usr/bin/env python3
"""Regenerates golden.json: graphite-web 1.1.8's answers to the events of
posts.txt (POST /events/, one JSON body a line) and then to requests.txt.

  bash /work/shared/graphite-peer/setup_graphite.sh /tmp/g 22000 22001 22002 22003
  python3 regenerate.py 22003 > golden.json

Use a fresh scratch directory: a tag that an older event has is "known"
to graphite-web, which changes what a query with unknown tags answers.
TestEventsMatchGraphiteWeb replays the rows against metricsd (ids aside).
"""
import json
import sys
import urllib.error
import urllib.request

base = 'http://127.0.0.1:%d' % int(sys.argv[1])
here = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'


def ask(method, path, body=None):
    req = urllib.request.Request(base + path, data=body.encode() if body else None, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, None


rows = []
for line in open(here + '/posts.txt'):
    line = line.rstrip('\n')
    if line:
        status, answer = ask('POST', '/events/', line)
        rows.append({'method': 'POST', 'path': '/events/', 'body': line, 'status': status, 'answer': answer})
for line in open(here + '/requests.txt'):
    line = line.rstrip('\n')
    if line:
        status, answer = ask('GET', line)
        rows.append({'method': 'GET', 'path': line, 'body': None, 'status': status, 'answer': answer})
json.dump(rows, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
print()
