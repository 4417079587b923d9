import subprocess

from cicd.hosts.local import LocalHost


def test_proc_files_of_an_exited_process_read_as_missing():
    host = LocalHost(name="local")
    child = subprocess.Popen(["sleep", "30"])
    assert host.get(f"/proc/{child.pid}/stat") is not None
    child.kill()
    child.wait()
    assert host.get(f"/proc/{child.pid}/cmdline") is None
