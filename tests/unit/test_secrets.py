"""Secret redaction on whole texts and on streams that arrive in pieces (defect 5)."""

from __future__ import annotations

import random
import secrets as token

import pytest

from cicd import secrets

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    + "\n".join(token.token_urlsafe(48) for _ in range(6))
    + "\n-----END OPENSSH PRIVATE KEY-----"
)


def fresh(prefix: str) -> str:
    return f"{prefix}-{token.token_hex(12)}"


def stream(pieces: list[str]) -> str:
    redactor = secrets.StreamRedactor()
    return "".join(redactor.feed(piece) for piece in pieces) + redactor.flush()


def test_a_value_split_at_every_possible_point_is_caught() -> None:
    value = fresh("split")
    secrets.register(value)
    text = f"before {value} after\n"
    for cut in range(len(text) + 1):
        assert stream([text[:cut], text[cut:]]) == "before *** after\n"


def test_random_pieces_of_a_long_stream_never_show_a_secret() -> None:
    values = [fresh("a"), fresh("bb") * 3, PEM]
    for value in values:
        secrets.register(value)
    rng = random.Random(7)
    text = "".join(f"line {i} {rng.choice(values)} tail\n" for i in range(200))
    cuts = sorted(rng.sample(range(len(text)), 300))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    out = stream(pieces)
    assert out == secrets.redact(text)
    assert all(value not in out for value in values)
    assert out.count("***") == 200


def test_a_multi_line_value_is_redacted_whole_and_line_by_line() -> None:
    secrets.register(PEM)
    assert secrets.redact(f"key:\n{PEM}\n") == "key:\n***\n"
    body = PEM.splitlines()[1]
    assert secrets.redact(f"  {body}\r\n") == "  ***\r\n"  # printed alone, indented, CRLF


def test_the_longer_of_two_values_sharing_a_start_wins_across_pieces() -> None:
    short = fresh("pre")
    long = short + "-and-more-of-it"
    secrets.register(short)
    secrets.register(long)
    assert stream([f"x {short}", long[len(short) :] + " y"]) == "x *** y"


def test_settle_releases_what_cannot_begin_a_secret() -> None:
    value = fresh("quiet")
    secrets.register(value)
    redactor = secrets.StreamRedactor()
    assert redactor.feed("building\n") == ""  # held back: shorter than the longest secret
    assert redactor.settle() == "building\n"
    assert redactor.feed(f"x {value[:5]}") == ""
    assert redactor.settle() == "x "  # the start of the secret stays held
    assert redactor.feed(value[5:] + "\n") + redactor.flush() == "***\n"


def test_each_line_of_a_multi_line_secret_gets_its_own_mask(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    pem = PEM.replace("OPENSSH", "MASKED")
    secrets.register(pem)
    masks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{line}" for line in pem.splitlines()]


def test_short_values_are_not_registered() -> None:
    secrets.register("abc")
    assert secrets.redact("abc abcd") == "abc abcd"
