#!/usr/bin/python3
# Reads a usage table (pshm usage -J -b --output-all, or a .ctl "usage 2"
# reply with --ctl) on stdin and prints what EXPR says of it, with:
#   rows            every line, as dicts (pshm's JSON keys; for --ctl:
#                   kind, what, count, size, part-of, words)
#   line(kind, what=None)   the first line of that kind (and label, indent aside)
#   adds_up()       "yes" when the terms of Shmem add up to its TOTAL and
#                   those of huge pages to theirs, else what differs
#   terms()         the terms of Shmem: (what, size) of each line before it
#                   that is part of no other
# Usage: usage.py [--ctl] EXPR
import json
import sys


def from_ctl(text):
    """A .ctl usage 2 reply as rows: each line's first word its kind, last number its size."""
    lines = text.split("\n")
    if lines[0] != "usage 2":
        sys.exit("not a usage 2 reply: %r" % lines[0])
    out = []
    for words in (l.split() for l in lines[1:] if l and l != "ok"):
        part_of = None
        if len(words) > 2 and words[-2] == "in":
            part_of = words[-1]
            words = words[:-2]
        kind = words[0]
        row = {"kind": kind, "what": kind, "part-of": part_of, "words": words}
        if kind == "tmpfs":
            row["what"] = words[1]
        if kind in ("tmpfs", "other", "unexplained", "shmem"):
            row["size"] = int(words[-1])
        elif kind in ("segment", "deleted", "memfd", "sysv", "shared-anon", "hugetlb", "anonymous"):
            row["count"], row["size"] = int(words[1]), int(words[2])
        elif kind in ("user", "process", "cgroup-kind"):
            row["kind"], row["view"] = words[1], kind
            row["size"] = int(words[-1])
        out.append(row)
    return out


args = sys.argv[1:]
ctl = args[:1] == ["--ctl"]
if ctl:
    args = args[1:]
text = sys.stdin.read()
rows = from_ctl(text) if ctl else json.loads(text)["usage"]


def line(kind, what=None):
    for r in rows:
        if r["kind"] == kind and (what is None or r["what"].strip() == what):
            return r
    raise SystemExit("no line of kind %s%s" % (kind, "" if what is None else " " + what))


def terms():
    out = []
    for r in rows:
        if r["kind"] == "shmem":
            return out
        if r["part-of"] is None:
            out.append((r["what"].strip(), r["size"]))
    raise SystemExit("no TOTAL (Shmem) line")


def adds_up():
    total = line("shmem")["size"]
    got = sum(size for _, size in terms())
    if got != total:
        return "terms add up to %d, Shmem is %d: %s" % (got, total, terms())
    if ctl:
        return "yes"
    after = rows[rows.index(line("shmem")) + 1:]
    huge = 0
    for r in after:
        if r["kind"] == "hugepages":
            return "yes" if huge == r["size"] else "huge terms %d, in use %d" % (huge, r["size"])
        if r["part-of"] is None:
            huge += r["size"]
    return "no TOTAL (HugePages) line"


print(eval(args[0]))
