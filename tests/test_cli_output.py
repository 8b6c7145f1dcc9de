"""Output that cannot be written (a full disk, a closed pipe) ends in one line, not a traceback."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys

import pytest
from conftest import IMPORTED_FROM

from policyeng.cli import main

COMMANDS = [
    ("catalog",),
    ("catalog", "--json"),
    ("select", "supports chat", "--json"),
    ("select", "supports chat"),  # a few bytes: the failure shows only on the final flush
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_full_disk_on_stdout_is_one_line_and_exit_2(argv):
    if os.path.exists("/dev/full"):
        env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "NO_COLOR": "1"}
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [sys.executable, "-m", "policyeng", *argv],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                timeout=120,
            )
        code, err = result.returncode, result.stderr
    else:  # no /dev/full on this system: the same failure, in-process
        code, err = _in_process_with_full_stdout(argv)
    assert err.splitlines()[-1] == "policyeng: cannot write output: No space left on device"
    assert code == 2 and "Traceback" not in err and "Exception ignored" not in err


class _FullStdout(io.StringIO):
    """A stdout that accepts writes but cannot flush them, like a file on a full disk."""

    def flush(self) -> None:
        if self.getvalue():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _in_process_with_full_stdout(argv) -> tuple[int, str]:
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _FullStdout(), io.StringIO()
    try:
        code = main(list(argv))
        return code, sys.stderr.getvalue()
    finally:
        sys.stdout, sys.stderr = real_out, real_err


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_failed_final_flush_in_process_is_one_line_and_exit_2(argv):
    code, err = _in_process_with_full_stdout(argv)
    assert (code, err.splitlines()[-1]) == (
        2,
        "policyeng: cannot write output: No space left on device",
    )


def test_an_os_error_naming_a_file_is_not_taken_for_output(monkeypatch):
    def unreadable(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "some/file")

    monkeypatch.setattr("policyeng.cli.catalog.run", unreadable)
    with pytest.raises(PermissionError):
        main(["catalog"])


def test_a_reader_that_stops_early_is_not_an_error():
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "policyeng", "catalog", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    process.stdout.read(1)
    process.stdout.close()  # like `| head -c1`
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 0
    assert "cannot write output" not in err and "Traceback" not in err


def test_a_report_printed_before_an_error_that_cannot_be_written_is_said_too(write):
    bad = write("bad.yaml", "version: 1\npolicies:\n  a: {where: nope}\n")
    code, err = _in_process_with_full_stdout(["check", bad, "--format", "json"])
    assert code == 2
    assert err.splitlines()[0] == f"policyeng: {bad}:3:14: unknown field 'nope'"
    assert err.splitlines()[-1] == "policyeng: cannot write output: No space left on device"
