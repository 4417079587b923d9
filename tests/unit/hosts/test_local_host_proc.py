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


def test_local_host_talks_to_a_unix_socket_in_process(tmp_path):
    import socket
    import threading

    import pytest

    from cicd.errors import HostError
    from cicd.hosts.local import LocalHost

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "admin.sock"))
    server.listen()

    def answer_once() -> None:
        conn, _ = server.accept()
        with conn:
            asked = b"".join(iter(lambda: conn.recv(4096), b""))
            conn.sendall(b"ok: " + asked)

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    host = LocalHost(cwd=str(tmp_path))
    assert host.unix_request("admin.sock", b"set weight live/blue 0\n") == b"ok: set weight live/blue 0\n"
    with pytest.raises(HostError, match=r"missing\.sock"):
        host.unix_request("missing.sock", b"show stat\n")
    thread.join(timeout=5)
    server.close()
