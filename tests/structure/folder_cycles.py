#!/usr/bin/env python3
"""Draws the folder graph of src/ from the #include lines (folder A -> folder B
when a file in A includes one in B) and fails, naming the cycle, when any
folder can reach itself. DESIGN.md: arrows point down only."""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/[^"]+"', re.M)


def folder_graph():
    graph = {}
    for folder in sorted(os.listdir(SRC)):
        path = os.path.join(SRC, folder)
        if not os.path.isdir(path):
            continue
        edges = graph.setdefault(folder, set())
        for dirpath, _, files in os.walk(path):
            for name in files:
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    for target in INCLUDE.findall(f.read()):
                        if target != folder and os.path.isdir(os.path.join(SRC, target)):
                            edges.add(target)
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def main():
    graph = folder_graph()
    cycle = find_cycle(graph)
    for folder in sorted(graph):
        print(f"{folder} -> {', '.join(sorted(graph[folder])) or '-'}")
    if cycle:
        print("folder include cycle: " + " -> ".join(cycle), file=sys.stderr)
        return 1
    print("no folder include cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
