"""Summarise py-spy's collapsed stacks (``bench/e2e.py --py-spy FILE``): where the flow
process's threads spend their samples.

Prints, per thread, its share of the samples, then the functions with the most samples on top
of the stack (self) and anywhere in it (total), restricted to the project's and libraries'
frames named by ``--match`` if given.

    uv run python bench/spy_summary.py stacks.txt [--top 25] [--match union_news]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def summarise(path: Path, top: int, match: str | None) -> str:
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        threads[frames[0]] += n
        names = [_name(f) for f in frames[1:]]
        if not names:
            continue
        own[names[-1]] += n
        for name in set(names):
            total[name] += n
    out = [f"{samples} samples"]
    out.append("threads:")
    out += [f"  {n / samples:6.1%}  {t}" for t, n in threads.most_common()]
    for title, table in (("self", own), ("total", total)):
        out.append(f"top {top} by {title}:")
        rows = [(k, v) for k, v in table.most_common() if not match or match in k][:top]
        out += [f"  {v / samples:6.1%}  {k}" for k, v in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stacks", type=Path)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--match")
    args = ap.parse_args(argv)
    print(summarise(args.stacks, args.top, args.match))
    return 0


if __name__ == "__main__":
    sys.exit(main())
