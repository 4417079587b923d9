import subprocess

from cicd.hosts.local import LocalHost


def test_proc_files_of_an_exited_process_read_as_missing():
    host = LocalHost(name="local")
    child = subprocess.Popen(["sleep", "30"])
    assert host.get(f"/proc/{child.pid}/stat") is not None
    child.kill()
    child.wait()
    assert host.get(f"/proc/{child.pid}/cmdline") is None


def test_local_host_resolves_paths_probes_and_follows_logs_itself(tmp_path):
    from cicd.checks.logsource import FileLogSource
    from cicd.hosts.local import LocalHost

    host = LocalHost(cwd=str(tmp_path))
    assert host.local and host.resolve("logs/a.log") == str(tmp_path / "logs" / "a.log")
    assert host.resolve("/var/log/x") == "/var/log/x"
    (tmp_path / "a.log").write_text("old\n")
    source = host.log_source("a.log")
    assert isinstance(source, FileLogSource)
    source.seek_end()
    with open(tmp_path / "a.log", "a") as log:
        log.write("new\n")
    assert source.read_new() == ["new"]
    refused = host.probe("http://127.0.0.1:9/", timeout=0.5)
    assert refused.status is None and refused.error
