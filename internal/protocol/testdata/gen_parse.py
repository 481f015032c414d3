#!/usr/bin/env python3
"""Write parse_golden.txt: what Python's float(), int() and str.split() make
of many tricky inputs, and what metricsd must answer.

Each line has five tab-separated fields:

    kind  input  want  python  note

kind    "f" float(), "i" int(), "s" str.split() of a whole line.
input   the input bytes in hex (a line may be invalid UTF-8; Python then fails
        to decode it, which is an error for the reference server).
want    what metricsd must return. f: 16 hex digits of the float64 bits, or
        "error". i: the decimal int64, "error", or "range" (a well-formed
        integer outside int64). s: the tokens in hex joined by ",", "" for
        none, or "error".
python  what Python itself returns, in the same notation (for i, the integer
        even when it does not fit int64).
note    why want differs from python ("" when it does not), then ascii() of
        the input for a reader (cut at 100 characters).

Documented differences (docs/protocol.md): timestamps must fit int64, and
non-ASCII decimal digits, which float() and int() accept, are rejected.
Deterministic; re-run from this directory:

    python3 gen_parse.py
"""
import random
import struct

SEED = 424242
OUT = "parse_golden.txt"
INT64 = (-(1 << 63), (1 << 63) - 1)

WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def hexbits(x):
    return f"{struct.unpack('<Q', struct.pack('<d', x))[0]:016x}"


def decode(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def has_unicode_digit(s):
    return any(ord(c) > 127 and c.isdecimal() for c in s)


def float_case(b):
    s = decode(b)
    try:
        py = hexbits(float(s)) if s is not None else "error"
    except ValueError:
        py = "error"
    if py != "error" and has_unicode_digit(s):
        return "error", py, "non-ascii-digit"
    return py, py, ""


def int_case(b):
    s = decode(b)
    try:
        v = int(s) if s is not None else None
    except ValueError:
        v = None
    if v is None:
        return "error", "error", ""
    if has_unicode_digit(s):
        return "error", str(v), "non-ascii-digit"
    if not INT64[0] <= v <= INT64[1]:
        return "range", str(v), "int64"
    return str(v), str(v), ""


def split_case(b):
    s = decode(b)
    if s is None:
        return "error", "error", ""
    toks = ",".join(t.encode("utf-8").hex() for t in s.split())
    return toks, toks, ""


NUMBERS = [
    "", " ", "0", "5", "-5", "+5", "007", "-0", "+0", "0.0", "-0.0", "5.",
    ".5", "5.25", "-.5", "+.5", ".", "-.", "+", "-", "++5", "+-5", "--5",
    "1e5", "1E5", "1e+5", "1e-5", "1E-7", "1e", "1e+", "1e-", "e5", ".e5",
    "5.e", "1.e5", "1.5e", "1e5.5", "1e5e5", "1ee5",
    "1_000", "1_000.5", "1__0", "_1", "1_", "1_.5", "1._5", "1.5_", "._5",
    "_.5", "1_e5", "1e_5", "1e5_", "1e1_0", "1e+1_0", "1e+_10", "1e-1_0",
    "0_0", "00_1", "1_2.3_4e5_6", ".5_5", "1.5_5", "+_1", "-_1", "1_000_000",
    "inf", "INF", "Inf", "iNf", "-inf", "+inf", "infinity", "Infinity",
    "INFINITY", "iNfInItY", "-infinity", "+Infinity", "infinit", "infinityy",
    "in", "infs", "in_f", "inf_", "nan", "NaN", "NAN", "-nan", "+nan", "nan_",
    "nana", "na", "-NaN", "infnan", "snan", "qnan", "nan(1)",
    "0x10", "0X10", "0x1p3", "0b101", "0o17", "0x", "1p3", "0x1.8p1",
    "1e400", "-1e400", "1e-400", "-1e-400", "1e308", "1.7976931348623157e308",
    "1.7976931348623158e308", "1.7976931348623159e308", "1.8e308", "2e308",
    "9e307", "4.9e-324", "5e-324", "2.5e-324", "2.4703282292062328e-324",
    "2.4703282292062327e-324", "1e-323", "1e-324", "1e-325", "0e400",
    "0e-400", "0.000e99999999999", "1e99999999999999999999",
    "1e-99999999999999999999", "-0e0", "00000.00000e00000",
    "123456789012345678901234567890", "0.1", "0.2", "0.30000000000000004",
    "9007199254740993", "9007199254740992.5", "12.0", "13.0", "10",
    "1503319740", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809",
    "99999999999999999999", "18446744073709551615", "18446744073709551616",
    "000000000000000000000000000009223372036854775807",
    "1" * 40, "0." + "0" * 330 + "1", "1" + "0" * 310, "1" + "0" * 308,
    "0." + "0" * 320 + "5", "." + "9" * 50,
    "5.0", "1e3", "1.5", "1,5", "1 5", "5 ", " 5", "\t5\n", "\r\n5\r\n",
    "\x0b5\x0c", "\x1c5", "5\x1f", "\x1e", "\x855", "5\xa0", "\u16805",
    "\u20005\u200a", "\u2028-1.5\u2029", "\u202f5\u205f", "\u30005\u3000",
    "\u00a0\u00a0inf\u00a0", "5\x00", "\x005", "\u0665", "\u0661\u0662",
    "\uff15", "1\u0665", "\u0665.\u0665e\u0661", "\u2212" + "5", "\u00b2",
    "\u2155", "five", "0xabc", "abc", "1e-5j", "1j", "1L", "1f", "1d",
    "5,0", "5;", "$5", "5%", "infinity.", "inf.0", "nan.", ".inf", "1.inf",
]

BYTE_INPUTS = [
    b"\xff", b"5\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
    b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc2", b"5\xc2", b"\xc2\xa05",
    b"\xe2\x80", b"\x80", b"\xf8\x88\x80\x80\x80",
]

def long_numbers():
    """Texts past strconv's 800-digit decimal and 10000 exponent limits, and
    exact halfway points, where only correct rounding gives Python's bits."""
    half_min = str(5 ** 1075) + "e-1075"          # 2**-1075: ties to 0.0
    half_max = str(2 ** 1024 - 2 ** 970)           # ties up to inf
    half_one = "1.00000000000000011102230246251565404236316680908203125"
    return [
        "9" * 1000 + "e-1000", "9" * 801 + ".5e-801", "1" * 900 + "e-850",
        "-" + "1" * 2000 + "e-1990",
        "0." + "0" * 12000 + "123e12001", "1_" * 600 + "1e-550",
        "1" + "0" * 1500 + "." + "0" * 1500 + "1e-1500",
        half_min, half_min[:-6] + "1e-1075", half_min.replace("e-1075", "0001e-1079"),
        half_max, str(2 ** 1024 - 2 ** 970 - 1), half_one, half_one + "1",
        half_one + "0" * 900, half_one + "0" * 900 + "1", "0." + "0" * 700 + "5e701",
    ]


ALPHABET = "0123456789_.eE+-infatyINFATY xX\t" + "\u00a0\u0665"


def random_numbers(rng, n):
    out = []
    for _ in range(n):
        k = rng.randint(1, 9)
        weights = [8] * 10 + [3, 3, 2, 1, 2, 2] + [1] * 16 + [1, 1]
        out.append("".join(rng.choices(ALPHABET, weights=weights, k=k)))
    return out


def random_grammar_numbers(rng, n):
    """Mostly valid Python floats, to exercise the conversion itself."""
    out = []
    for _ in range(n):
        digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))
        s = rng.choice(["", "-", "+"]) + digits(rng.randint(0, 20))
        if rng.random() < 0.7:
            s += "." + digits(rng.randint(0, 20))
        if rng.random() < 0.5:
            s += rng.choice("eE") + rng.choice(["", "+", "-"])
            s += str(rng.randint(0, 330))
        out.append(s)
    return out


SPLIT_PIECES = WHITESPACE + ["put", "get", "*", "k", "ké", "\u0665", "1.5",
                             "\ufffd", "\u200b", "\x00", "x" * 3, "\U0001f600"]


def random_lines(rng, n):
    out = []
    for _ in range(n):
        parts = rng.choices(SPLIT_PIECES, k=rng.randint(0, 10))
        b = "".join(parts).encode("utf-8")
        if rng.random() < 0.1:  # corrupt one byte
            i = rng.randrange(len(b) + 1)
            b = b[:i] + bytes([rng.choice([0x80, 0xc2, 0xed, 0xff])]) + b[i:]
        out.append(b)
    return out


def fixed_lines():
    lines = [b"", b"\n", b"put k 1 2\n", b"put k 1 2\r\n", b"get *\n",
             b"  get\t\tk  \n", b"put\xc2\xa0k\xe3\x80\x801\x1c2\n",
             b"get k\xc2\x85\n", b"get \xed\xa0\x80\n", b"get \xc0\xaf\n",
             b"get k\xe2\x80\n", b"a\xe1\x9a\x80b\xe2\x80\xa8c\xe2\x80\xa9d"]
    lines += [b"a" + c.encode() + b"b" for c in WHITESPACE]
    lines += [b"a" + c.encode() + b"b" for c in "\u200b\u180e\ufeff\x00\x7f"]
    return lines


def main():
    rng = random.Random(SEED)
    rows = []
    numbers = NUMBERS + long_numbers() + random_numbers(rng, 3000)
    numbers += random_grammar_numbers(rng, 1200)
    inputs = [s.encode("utf-8") for s in numbers] + BYTE_INPUTS
    for c in WHITESPACE:
        inputs += [(c + "7" + c).encode("utf-8"), ("7" + c + "7").encode()]
    seen = set()
    for b in inputs:
        if b in seen:
            continue
        seen.add(b)
        rows.append(("f", b) + float_case(b))
        rows.append(("i", b) + int_case(b))
    seen = set()
    for b in fixed_lines() + random_lines(rng, 2000):
        if b not in seen:
            seen.add(b)
            rows.append(("s", b) + split_case(b))
    with open(OUT, "w") as f:
        for kind, b, want, py, note in rows:
            readable = ascii(b.decode("utf-8", "backslashreplace"))
            if len(readable) > 100:
                readable = readable[:100] + "..."
            f.write(f"{kind}\t{b.hex()}\t{want}\t{py}\t{note} {readable}\n")


if __name__ == "__main__":
    main()
