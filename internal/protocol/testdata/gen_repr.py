#!/usr/bin/env python3
"""Write repr_golden.txt: float64 bit patterns and Python's repr() of each.

Each line is "<16 hex digits of the IEEE-754 bits> <repr(float)>". The test
(repr_test.go) checks AppendFloat against every line. Deterministic: the same
Python version always writes the same file. Re-run from this directory:

    python3 gen_repr.py
"""
import math
import random
import struct

SEED = 20240601
OUT = "repr_golden.txt"


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def special_values():
    vals = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324,
            2.2250738585072014e-308, 2.225073858507201e-308,
            1.7976931348623157e308, -1.7976931348623157e308,
            0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3, 10.0, 12.0, 13.0, 4200000.0,
            1234567890123456.8, 1.2345678901234568e17, 9007199254740993.0,
            9007199254740992.0, 123456789012345678.0, 0.5, 0.25, 100.0]
    out = [bits(v) for v in vals]
    # NaNs with other payloads and the sign bit: repr is "nan" for all.
    out += [0xfff8000000000000, 0x7ff0000000000001, 0x7fffffffffffffff,
            0xffffffffffffffff, 0x7ff8000000000001]
    return out


def decade_boundaries():
    """Powers of ten and their float neighbours, where the layout switches."""
    out = []
    for e in range(-8, 20):
        for mant in (1.0, 1.5, 9.999999999999999, 9.5, 1.0000000000000002):
            v = float(f"{mant}e{e}")
            for b in (bits(v) - 1, bits(v), bits(v) + 1):
                out += [b, b | (1 << 63)]
    for e in range(-324, 309):
        v = float(f"1e{e}")
        out.append(bits(v))
    return out


def random_values(rng):
    out = []
    for _ in range(7000):  # uniform bit patterns: mostly scientific
        out.append(rng.getrandbits(64))
    for _ in range(5000):  # what clients send: prices, gauges, counters
        v = round(rng.uniform(-100000, 100000), 2)
        out.append(bits(v))
    for _ in range(4000):  # log-uniform magnitudes around the fixed range
        v = 10 ** rng.uniform(-7, 19) * rng.choice((1, -1))
        out.append(bits(v))
    for _ in range(1000):  # integers, some past 2**53
        out.append(bits(float(rng.randrange(-10**18, 10**18))))
    for _ in range(1000):  # subnormals
        out.append(rng.getrandbits(52) | (rng.getrandbits(1) << 63))
    return out


def main():
    rng = random.Random(SEED)
    all_bits = special_values() + decade_boundaries() + random_values(rng)
    seen = set()
    with open(OUT, "w") as f:
        for b in all_bits:
            if b in seen:
                continue
            seen.add(b)
            f.write(f"{b:016x} {repr(from_bits(b))}\n")


if __name__ == "__main__":
    main()
