"""docs/API.md's examples are the API's contract: they run here, in an empty directory."""

from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "API.md"


def test_api_md_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    outcome = doctest.testfile(str(DOC), module_relative=False, optionflags=flags, raise_on_error=False,
                               verbose=False, report=True)
    assert outcome.attempted >= 25
    assert outcome.failed == 0, f"{outcome.failed} of docs/API.md's examples failed (details above)"
