#!/usr/bin/env python3
"""Regenerates tag_input.json: django-tagging's own parse_tag_input (the
version Debian's graphite-web 1.1.8 uses) on each input below.
Run from this directory: python3 tag_input.py > tag_input.json"""
import json
import sys

sys.path.insert(0, '/usr/lib/python3/dist-packages')
from tagging.utils import parse_tag_input  # noqa: E402

INPUTS = [
    '', 'a', 'a b', 'b a a', '  a   b  ', 'a\tb', 'a,b', 'a, b c', 'a,b c', '"a b" c', '"a,b" c',
    '"a b",c', 'a "b', 'a "b,c', '"', '""', '" "', 'x"y"z', 'web prod', 'prod web deploy',
    'a,,b', ',', ' , ', '"a" "b"', 'é ü', 'a"b c"d,e', 'tag1 tag2,', 'a\nb', '"unclosed, comma',
]
json.dump([{'input': s, 'names': parse_tag_input(s)} for s in INPUTS], sys.stdout, indent=1, ensure_ascii=False)
print()
