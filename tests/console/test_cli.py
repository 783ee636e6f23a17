"""`sigec console` through add_console_parser/run_console: --snapshot text and JSON, exit codes."""

from __future__ import annotations

import argparse
import io
import json
import socket
from pathlib import Path

import pytest

from sigec_actors.config import Settings, load_settings
from sigec_actors.console import PASSWORD_ENV, add_console_parser, run_console
from tests.console.fake_server import EMAIL, PASSWORD, FakeApi, cluster_snapshot


def _parse(argv: list[str]) -> argparse.Namespace:
    """The shape of sigec's parser: global --data-dir, then the sub-command."""
    parser = argparse.ArgumentParser(prog="sigec")
    parser.add_argument("--data-dir")
    add_console_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace, tmp_path: Path) -> Settings:
    data_dir = getattr(args, "data_dir", None) or str(tmp_path / "none")
    return load_settings(env={"SIGEC_ADMIN_EMAIL": EMAIL}, overrides={"server.data_dir": data_dir})


def _run(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = _parse(argv)
    code = run_console(args, _settings(args, tmp_path))
    out, err = capsys.readouterr()
    return code, out, err


def _runtime(tmp_path: Path, url: str) -> Path:
    (tmp_path / "runtime.json").write_text(json.dumps({"httpUrl": url, "pid": 1, "workers": 2}))
    return tmp_path


def test_snapshot_text_finds_the_server_in_runtime_json(
        fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = _runtime(tmp_path, fake.url)
    code, out, err = _run(["console", "--data-dir", str(data_dir), "--snapshot",
                           "--password-stdin"], tmp_path, capsys, monkeypatch, PASSWORD + "\n")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 16 and lines[0].startswith("/director  CsmsDirector")
    assert any(line.startswith("        /node-2/charge-points/CP-002  ChargePoint") for line in lines)
    assert PASSWORD not in out


def test_global_data_dir_is_not_overwritten_by_the_sub_command(tmp_path: Path) -> None:
    args = _parse(["--data-dir", "/srv/sigec", "console", "--snapshot"])
    assert args.data_dir == "/srv/sigec"


def test_snapshot_filter_and_password_from_env(
        fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, out, _ = _run(["console", "--url", fake.url, "--snapshot", "--filter", "rj-0007"],
                        tmp_path, capsys, monkeypatch)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "/director", "/director/node-2", "/node-2", "/node-2/charge-points",
        "/node-2/charge-points/RJ-0007"]


def test_snapshot_json_is_the_servers_document(
        fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, out, _ = _run(["console", "--url", fake.url, "--email", EMAIL, "--snapshot", "--json"],
                        tmp_path, capsys, monkeypatch)
    assert code == 0 and json.loads(out) == cluster_snapshot()


@pytest.mark.parametrize(("argv", "message"), [
    (["console", "--json"], "--json needs --snapshot"),
    (["console", "--password-stdin"], "--password-stdin needs --snapshot"),
    (["console", "--snapshot", "--json", "--filter", "x"], "drop --filter"),
    (["console", "--snapshot"], f"no password: use --password-stdin or set {PASSWORD_ENV}"),
])
def test_bad_usage_is_exit_2(argv: list[str], message: str, fake: FakeApi, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code, out, err = _run([*argv, "--url", fake.url], tmp_path, capsys, monkeypatch)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("sigec console: ") and message in err
    assert fake.calls == []


def test_refused_login_is_exit_2_without_echoing_the_password(
        fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _run(["console", "--url", fake.url, "--snapshot", "--password-stdin"],
                          tmp_path, capsys, monkeypatch, "not-the-password\n")
    assert (code, out) == (2, "")
    assert err == "sigec console: 401 Unauthorized: wrong email or password\n"


def test_empty_password_stdin_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run(["console", "--url", "http://127.0.0.1:9", "--snapshot",
                         "--password-stdin"], tmp_path, capsys, monkeypatch, "\n")
    assert code == 2 and "standard input was empty" in err


def test_no_runtime_json_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, out, err = _run(["console", "--data-dir", str(tmp_path), "--snapshot"],
                          tmp_path, capsys, monkeypatch)
    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "no running server found" in err and "--url" in err


def test_unreachable_server_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data_dir = _runtime(tmp_path, f"http://127.0.0.1:{port}")
    code, _, err = _run(["console", "--data-dir", str(data_dir), "--snapshot"],
                        tmp_path, capsys, monkeypatch)
    assert code == 3
    assert err.startswith(f"sigec console: server unreachable at http://127.0.0.1:{port}")
    assert err.count("\n") == 1


def test_server_error_is_exit_1(fake: FakeApi, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    fake.fail_with = (503, "Service Unavailable", "actor system not started")
    code, _, err = _run(["console", "--url", fake.url, "--snapshot"], tmp_path, capsys,
                        monkeypatch)
    assert code == 1 and err == ("sigec console: 503 Service Unavailable: "
                                 "actor system not started\n")


def test_tui_login_is_checked_before_the_screen_opens(
        fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    code, out, err = _run(["console", "--url", fake.url], tmp_path, capsys, monkeypatch)
    assert (code, out) == (2, "")
    assert err == "sigec console: 401 Unauthorized: wrong email or password\n"
