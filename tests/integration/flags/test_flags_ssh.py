"""Flags on two real sshd hosts: every host gets the same file, and a host that cannot be reached
leaves every host as it was (no half-switched environment, nothing in the ledger)."""

from __future__ import annotations

import json

import pytest
import yaml

from cicd.cli import main

pytestmark = pytest.mark.integration

FLAGS = {
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
    },
}


def test_every_host_or_none(sshd_hosts, tmp_path, capsys):
    config = tmp_path / "config"
    (config / "environments").mkdir(parents=True)
    (config / "flags").mkdir()
    (config / "flags" / "staging.json").write_text(json.dumps(FLAGS))
    env = {
        "name": "staging", "type": "staging",
        "deploy": {
            "hosts": [host.spec() for host in sshd_hosts],
            "runtime": {"kind": "process", "command": ["python3", "-m", "sample_service.app"]},
            "colors": {"blue": {"port": 18991}, "green": {"port": 18992}},
        },
    }  # fmt: skip
    (config / "environments" / "staging.yml").write_text(yaml.safe_dump(env))
    files = [host.home / ".cicd" / "flags" / "staging.json" for host in sshd_hosts]

    where = ["--env", "staging", "--config-dir", str(config)]
    code = main(["flags", "set", "quote-v2", "--percent", "10", *where])
    out, err = capsys.readouterr()
    assert code == 0 and "written to web-1, web-2" in out, out + err
    first, second = (json.loads(path.read_text()) for path in files)
    assert first == second and first["flags"]["quote-v2"]["targeting"] == {
        "fractional": [["on", 10], ["off", 90]]
    }

    sshd_hosts[1].ssh_host().close()  # no master connection outlives the host going away
    sshd_hosts[1].stop_sshd()
    code = main(["flags", "disable", "quote-v2", *where])
    err = capsys.readouterr().err
    assert code == 1 and "flag change not applied" in err and "on web-2" in err, err
    assert "1 host(s) already written were put back" in err
    assert json.loads(files[0].read_text()) == first  # web-1 as before: still 10 %
    assert main(["audit", "show", "--json", *where]) == 0
    out, err = capsys.readouterr()
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    assert actions == ["flag.set"], err  # the failed change left no entry
