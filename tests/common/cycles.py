#!/usr/bin/env python3
# Segments that live for microseconds, as PostgreSQL's parallel queries
# make them: COUNT cycles of create and unlink of PREFIX-0, PREFIX-1...
# in /dev/shm, as fast as it can (shm_open and shm_unlink are open(2) and
# unlink(2) there). --flash NAME also creates and unlinks NAME once, in
# the middle; --keep NAME creates NAME after the last cycle and leaves it.
import argparse
import os

FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def cycle(name):
    path = "/dev/shm/" + name
    os.close(os.open(path, FLAGS, 0o600))
    os.unlink(path)


p = argparse.ArgumentParser()
p.add_argument("count", type=int)
p.add_argument("prefix")
p.add_argument("--flash")
p.add_argument("--keep")
a = p.parse_args()
for i in range(a.count):
    cycle("%s-%d" % (a.prefix, i))
    if a.flash and i == a.count // 2:
        cycle(a.flash)
if a.keep:
    os.close(os.open("/dev/shm/" + a.keep, FLAGS, 0o600))
