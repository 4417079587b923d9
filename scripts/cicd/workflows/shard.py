"""Split test files across the parallel unit-test jobs of CI, the same way in every job.

Greedy by file size (largest first, onto the lightest shard): a cheap proxy for run time that needs
no timing data, and deterministic, so every shard agrees on who runs what without talking.
"""

from __future__ import annotations

from pathlib import Path

from cicd.errors import UsageError


def test_files(paths: list[Path]) -> list[Path]:
    files: set[Path] = set()
    for path in paths:
        if path.is_file():
            files.add(path)
        elif path.is_dir():
            files.update(p for p in path.rglob("test_*.py") if "__pycache__" not in p.parts)
            files.update(p for p in path.rglob("*_test.py") if "__pycache__" not in p.parts)
        else:
            raise UsageError(f"no such test file or folder: {path}")
    return sorted(files)


def assign(files: list[Path], total: int, sizes: dict[Path, int] | None = None) -> list[list[Path]]:
    """Shards (0-based list of file lists) balanced by size; ties broken by path for stability."""
    if total < 1:
        raise UsageError(f"--total must be at least 1, got {total}")
    size_of = sizes if sizes is not None else {f: f.stat().st_size for f in files}
    shards: list[list[Path]] = [[] for _ in range(total)]
    loads = [0] * total
    for file in sorted(files, key=lambda f: (-size_of[f], str(f))):
        lightest = min(range(total), key=lambda i: (loads[i], i))
        shards[lightest].append(file)
        loads[lightest] += size_of[file]
    return [sorted(shard) for shard in shards]


def shard(paths: list[Path], index: int, total: int) -> list[Path]:
    """Files of shard `index` (1-based, as in a matrix) out of `total`."""
    if not 1 <= index <= total:
        raise UsageError(f"--index must be between 1 and {total}, got {index}")
    return assign(test_files(paths), total)[index - 1]
