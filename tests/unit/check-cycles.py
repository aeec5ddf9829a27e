#!/usr/bin/python3
"""No file calls a function of a file that (directly or not) calls it back.

usage: check-cycles.py NAME DIR [NAME DIR...]
For each program or library NAME, reads the objects in DIR/*.p/*.o with
nm, links each undefined symbol to the object that defines it, and fails
when the graph of objects has a cycle (Tarjan's strongly connected
components): calls must go one way, down the layers of docs/design.md.
"""
import glob
import os
import subprocess
import sys


def graph(objects):
    defined, wanted = {}, {}
    for o in objects:
        for line in subprocess.run(['nm', o], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in 'TDBRVW':
                defined[p[2]] = o
            elif len(p) == 2 and p[0] == 'U':
                wanted.setdefault(o, set()).add(p[1])
    return {o: {defined[u] for u in wanted.get(o, ()) if u in defined and defined[u] != o}
            for o in objects}


def cycles(g):
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index:
            visit(v)
    return found


status = 0
args = sys.argv[1:]
for name, folder in zip(args[::2], args[1::2]):
    objects = sorted(glob.glob(os.path.join(folder, '*.p', '*.o')))
    if not objects:
        print(f'{name}: no objects in {folder}')
        status = 1
        continue
    g = graph(objects)
    edges = sum(len(v) for v in g.values())
    found = cycles(g)
    for comp in found:
        names = sorted(os.path.basename(o).removesuffix('.o') for o in comp)
        print(f'{name}: these files call each other: {" ".join(names)}')
        status = 1
    if not found:
        print(f'{name}: {len(objects)} files, {edges} calls between them, no cycle')
sys.exit(status)
