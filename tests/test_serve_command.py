"""`policyeng serve` as a process: the extra, the Dockerfile's command line, binding, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
from conftest import IMPORTED_FROM, ROOT, run_cli
from serving import ServeProcess

from policyeng.cli import build_parser

POLICIES = str(ROOT / "policies")


def test_without_the_serve_extra_it_exits_2_naming_the_pip_command():
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"  # what a missing package looks like
        "from policyeng.cli import main\n"
        f"sys.exit(main(['serve', {POLICIES!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": IMPORTED_FROM},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "policyeng: policyeng serve needs the serve extra (uvicorn is "
        "missing):\n  pip install 'policyeng[serve]'\n"
    )


def dockerfile_instruction(name: str) -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (line,) = re.findall(rf"^{name}\s+(\[.*\])\s*$", text, flags=re.M)
    return json.loads(line)


def test_the_dockerfile_runs_a_command_line_the_cli_accepts():
    command = dockerfile_instruction("ENTRYPOINT") + dockerfile_instruction("CMD")
    assert command[0] == "policyeng"
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve" and args.paths == ["/policies"]
    assert args.host == "0.0.0.0" and args.port == 8787
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "EXPOSE 8787" in text
    user = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    assert 'pip install ".[serve]"' in text
    for sources in re.findall(r"^COPY\s+(.+)\s+\S+$", text, flags=re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"the Dockerfile copies {source}: not there"


def test_a_wildcard_bind_is_said_and_a_busy_port_is_a_usage_error():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = run_cli(
            "serve", POLICIES, "--catalog", "builtin", "--host", "0.0.0.0", "--port", str(port)
        )
    finally:
        busy.close()
    assert result.returncode == 2
    assert "warning: listening on every interface (0.0.0.0)" in result.stderr
    assert f"cannot listen on 0.0.0.0:{port}: Address already in use" in result.stderr


def test_bad_policy_files_exit_2_before_listening(write):
    path = write("bad.yaml", "version: 1\npolicies:\n  x:\n    where: supports chat and\n")
    result = run_cli("serve", path, "--catalog", "builtin", "--port", "0")
    assert result.returncode == 2 and "serving on" not in result.stderr
    assert "bad.yaml:4:" in result.stderr


def test_no_catalog_at_all_stops_the_server_with_exit_3(tmp_path):
    missing = tmp_path / "missing.json"
    result = run_cli("serve", POLICIES, "--catalog", str(missing), "--port", "0")
    assert result.returncode == 3
    assert "serving on http://127.0.0.1:" in result.stderr
    assert f"policyeng: catalog {missing}: " in result.stderr


def test_sigterm_while_the_first_load_waits_on_the_network_stops_at_once(server):
    from catalog_server import stall

    server.script("/api/models", stall(server, 60))
    process = ServeProcess(POLICIES, "--catalog", server.url())
    try:
        with httpx.Client(base_url=process.base, timeout=10) as client:
            deadline = time.monotonic() + 20
            while not server.hits("/api/models"):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            loading = client.get("/readyz")
            assert loading.status_code == 503 and loading.json()["state"] == "starting"
        # The fetch would give up after 10 s (read timeout) at the earliest: the server
        # does not wait for it.
        code, err = process.terminate(timeout=8)
        assert code == 0, err
    finally:
        process.kill()


def test_sigterm_finishes_the_request_in_flight_then_exits_0():
    server = ServeProcess(POLICIES, "--catalog", "builtin", "--decision-log", "-")
    try:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            deadline = time.monotonic() + 20
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        port = int(server.base.rsplit(":", 1)[1])
        body = json.dumps({"policy": "supports chat order by model_name", "top": 0}).encode()
        in_flight = socket.create_connection(("127.0.0.1", port), timeout=20)
        in_flight.sendall(
            b"POST /v1/select HTTP/1.1\r\nHost: t\r\nContent-Type: "
            b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        # The server has the request's head once it answers another request after it.
        assert httpx.get(server.url("/healthz"), timeout=10).status_code == 200
        server.process.send_signal(15)
        deadline = time.monotonic() + 20
        while True:  # draining: the listening socket closes first
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                break
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert server.process.poll() is None  # still finishing the request in flight
        in_flight.sendall(body[10:])
        answer = b""
        while chunk := in_flight.recv(65536):
            answer += chunk
        in_flight.close()
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        decision = json.loads(payload)
        assert decision["candidates"] == [] and decision["model_name"]
        _, err = server.process.communicate(timeout=30)
        assert server.process.returncode == 0, err
        logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert [line["decision_id"] for line in logged] == [decision["decision_id"]]
    finally:
        server.kill()
