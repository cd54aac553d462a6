#!/usr/bin/env python3
"""The shape rules of the code, checked from the source alone:

1. No circle of imports among the files of shared/src: file A names
   something of file B (`use crate::…`, `super::…`, a child module's
   `name::…`, or a `crate::…` path in the code) and B, directly or not,
   names something of A. A child naming its own parent (or an ancestor)
   is left out: children may read their module's items, `use super::*`.
2. No source file over 800 lines in shared/, local/, admin/, functions/,
   tests/ and bench/, not counting its unit tests (a trailing
   `#[cfg(test)] mod tests`).

Prints each violation and exits 1 if there is one; prints a summary and
exits 0 otherwise. Usage: scripts/check-structure.py [--max-lines N]
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "shared" / "src"
SIZE_ROOTS = [ROOT / d for d in ("shared", "local", "admin", "functions", "tests", "bench")]

PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
CHILD_RE = re.compile(r"(?<![:\w])([a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+")
USE_RE = re.compile(r"\buse\s+([^;]+);", re.S)


def without_tests(text: str) -> str:
    """The file without its trailing unit-test module."""
    match = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub\s+)?mod\s+\w+\s*\{", text, re.M)
    return text[: match.start()] if match else text


def without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> [`a::b`, `a::c::d`, `a::c::e`]."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree]
    head, _, rest = tree.partition("{")
    body = rest[: rest.rindex("}")]
    parts, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    parts.append(current)
    out = []
    for part in filter(None, parts):
        for expanded in expand_use(part):
            out.append(head + expanded if expanded != "self" else head.rstrip(":"))
    return out


def module_of(path: Path) -> list[str]:
    """The module path of a file: shared/src/a/b.rs -> [a, b]."""
    rel = path.relative_to(CRATE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return parts


def file_and_rest(module: list[str]) -> tuple[Path, list[str]]:
    """The deepest file that holds `module`, and the segments left over."""
    for depth in range(len(module), 0, -1):
        base = CRATE.joinpath(*module[:depth])
        for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
            if candidate.is_file():
                return candidate, module[depth:]
    return CRATE / "lib.rs", module


def absolute(segments: list[str], here: list[str], children: set[str]) -> list[str] | None:
    """A path as written in the module `here`, as a path from the crate root."""
    if segments and segments[0] in children:
        segments = ["self"] + segments
    if not segments or segments[0] not in ("crate", "super", "self"):
        return None
    if segments[0] == "crate":
        return segments[1:]
    if segments[0] == "self":
        return here + segments[1:]
    module = list(here)
    while segments and segments[0] == "super":
        module = module[:-1]
        segments = segments[1:]
    return module + segments


PARSED: dict[Path, tuple[list[str], set[str], dict[str, list[str]]]] = {}


def parsed(path: Path):
    """A file's paths as written, its child modules and its re-exports."""
    if path not in PARSED:
        text = without_comments(without_tests(path.read_text()))
        here = module_of(path)
        children = set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text, re.M))
        paths = []
        for use in USE_RE.findall(text):
            paths.extend(expand_use(use))
        paths.extend(m.group(0) for m in PATH_RE.finditer(text))
        paths.extend(m.group(0) for m in CHILD_RE.finditer(text) if m.group(1) in children)
        reexports = {}
        for use in re.findall(r"\bpub\s+use\s+([^;]+);", text, re.S):
            for p in expand_use(use):
                segments = [s for s in p.split("::") if s]
                full = absolute(segments, here, children)
                if full and segments[-1] != "*":
                    reexports[segments[-1]] = full
        PARSED[path] = (paths, children, reexports)
    return PARSED[path]


def resolve(module: list[str], hops: int = 0) -> Path:
    """The file that defines what `module` names, through re-exports."""
    target, rest = file_and_rest(module)
    if rest and hops < 8:
        reexports = parsed(target)[2]
        if rest[0] in reexports:
            return resolve(reexports[rest[0]] + rest[1:], hops + 1)
    return target


def imports(path: Path) -> set[Path]:
    paths, children, _ = parsed(path)
    here = module_of(path)
    found = set()
    for p in paths:
        full = absolute([s for s in p.split("::") if s], here, children)
        if full is None:
            continue
        target = resolve(full)
        if target != path:
            found.add(target)
    return found


def is_ancestor(a: Path, b: Path) -> bool:
    """Whether `b`'s module contains `a`'s."""
    ma, mb = module_of(a), module_of(b)
    return len(mb) < len(ma) and ma[: len(mb)] == mb


def circles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, default=800)
    args = parser.parse_args()
    failures = 0

    files = sorted(CRATE.rglob("*.rs"))
    graph = {f: {t for t in imports(f) if not is_ancestor(f, t)} for f in files}
    for component in circles(graph):
        failures += 1
        names = [str(p.relative_to(ROOT)) for p in component]
        print("circle: " + " <-> ".join(names))
        for a in component:
            for b in sorted(graph[a] & set(component)):
                print(f"  {a.relative_to(ROOT)} -> {b.relative_to(ROOT)}")

    sizes = []
    for root in SIZE_ROOTS:
        for f in sorted(root.rglob("*.rs")):
            if "target" in f.parts:
                continue
            lines = without_tests(f.read_text()).count("\n")
            sizes.append((lines, f))
            if lines > args.max_lines:
                failures += 1
                print(f"too long: {f.relative_to(ROOT)}: {lines} lines without its unit tests (> {args.max_lines})")

    largest = max(sizes)
    edges = sum(len(v) for v in graph.values())
    print(
        f"structure: {len(files)} files and {edges} imports between files in shared/src, "
        f"{failures} problem(s); largest file {largest[1].relative_to(ROOT)} ({largest[0]} lines without tests)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
