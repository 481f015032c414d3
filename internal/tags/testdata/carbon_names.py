#!/usr/bin/env python3
"""Regenerates carbon_names.json: what carbon 1.1.7's own TaggedSeries makes
of each name in the list below (Debian's graphite-carbon must be installed).
Run from this directory: python3 carbon_names.py > carbon_names.json"""
import json
import sys

sys.path.insert(0, '/usr/lib/python3/dist-packages')
from carbon.util import TaggedSeries  # noqa: E402

NAMES = [
    'a.b.c', '~a.b', '~~~', '~', 'a;b=2;a=1', 'a;a=1;b=2', 'a;b=1;b=2', 'a;b=2;b=1',
    'a;a=1;a-=2', 'a;a-=2;a=1', 'a;ab=1;a=2', 'a;name=x', 'a;name=x;z=1', ';a=1', 'a;', 'a;b',
    'a;=b', 'a;b=', 'a;b=~c', 'a;b!=c', 'a;b^=c', 'a;b=c=d', 'a;b=c~', '~a;b=1', 'a.b;c=d;e=f;g=h',
    'a;z=1;y=2;x=3;w=4', 'té;ü=1;a=é', 'a;B=1;a=1', 'a;_=1;A=1;0=1',
    'm{b="2",a="1"}', 'm{a="1"}', 'm{a="x\\"y"}', 'm{a="x\\\\y"}', 'm{a="1":,b="2"}', 'm{a="1";b="2"}',
    'm{a="1" ,b="2"}', '{a="1"}', '~m{a="1"}', 'm{a=""}', 'm{a="~x"}', 'm{a;b="1"}', 'm{a="x;y"}',
    'm{{a="1"}', 'm{a="1"', 'm{}', 'm;x{a="1"}', 'm{name="z",a="1"}', 'm{a="1",a="2"}',
    'm{a="x\\y"}', 'm{a="1",}', 'm{a="x{\\"}"}', 'n;b={"};a=1', 'n;a={"}', 'a;b=1;;c=2',
]

out = []
for name in NAMES:
    try:
        s = TaggedSeries.parse(name)
        out.append({'name': name, 'path': s.path, 'tags': s.tags})
    except Exception as e:  # carbon raises plain Exception (and ValueError on unpacking)
        out.append({'name': name, 'error': type(e).__name__})
json.dump(out, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
print()
