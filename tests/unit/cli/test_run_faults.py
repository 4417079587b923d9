"""`cicd run` as a subprocess under faults: a PEM secret in Actions mode (defect 5) and a SIGKILL of cicd
itself while its jobs run (defect 10)."""

from __future__ import annotations

import contextlib
import os
import secrets as token
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CICD = [sys.executable, "-m", "cicd"]


def write_pipeline(root: Path, text: str) -> None:
    (root / "config" / "environments").mkdir(parents=True, exist_ok=True)
    (root / "config" / "pipeline.yml").write_text(textwrap.dedent(text))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return {**env, **extra}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_pem_key_split_across_reads_never_shows_in_actions_mode(tmp_path: Path) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(token.token_hex(32) for _ in range(8))
    pem += "\n-----END RSA PRIVATE KEY-----"
    # The key goes out in pieces with pauses, the first piece ending mid-line after 64 KiB of output.
    writer = (
        "import os,sys,time; k=os.environ['SIGNING_KEY'].encode(); w=sys.stdout.buffer; "
        "w.write(b'y' * 65530 + k[:40]); w.flush(); time.sleep(0.3); "
        "w.write(k[40:100]); w.flush(); time.sleep(0.3); w.write(k[100:] + b'\\n'); w.flush()"
    )
    write_pipeline(
        tmp_path,
        f"""\
        name: pem
        secrets: [SIGNING_KEY]
        stages:
          - name: s
            jobs:
              - name: sign
                command: python3 -c "{writer}" && printf '%s\\n' "$SIGNING_KEY" && exit 3
        """,
    )
    summary = tmp_path / "summary.md"
    env = clean_env(SIGNING_KEY=pem, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    done = subprocess.run(
        [*CICD, "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    masks = [line for line in done.stdout.splitlines() if line.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{line}" for line in pem.splitlines()]
    rest = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("::add-mask::"))
    (log,) = (tmp_path / ".cicd" / "runs").glob("*/logs/sign.log")
    for text in (rest, done.stderr, log.read_text(), summary.read_text()):
        assert all(line not in text for line in pem.splitlines())
    assert "y***\n***\n" in log.read_text()
    assert "::group::sign" in rest and "::error title=job sign::" in rest


def test_jobs_die_with_a_sigkilled_cicd_run(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    write_pipeline(
        tmp_path,
        f"""\
        name: killed
        stages:
          - name: s
            jobs:
              - name: daemon
                command: setsid -f sh -c 'echo $$ > {pids}/daemon; exec sleep 300'; sleep 300
                timeout: 600
              - name: plain
                command: sleep 300 & echo $! > {pids}/plain; wait
                timeout: 600
        """,
    )
    cicd = subprocess.Popen(
        [*CICD, "run"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: len(list(pids.iterdir())) == 2)
        started = [int(path.read_text()) for path in pids.iterdir()]
        assert all(alive(pid) for pid in started)
        os.kill(cicd.pid, signal.SIGKILL)
        cicd.wait(10)
        assert wait_for(lambda: not any(alive(pid) for pid in started), timeout=10), started
    finally:
        if cicd.poll() is None:
            cicd.kill()
        for path in pids.iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(path.read_text()), signal.SIGKILL)
