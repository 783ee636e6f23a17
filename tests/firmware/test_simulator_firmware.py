"""The simulator's firmware knobs: the command line and the version a location names."""

from __future__ import annotations

import pytest

from sigec_actors.simulator.__main__ import config_of, parse_args
from sigec_actors.simulator.firmware import FirmwareOptions, version_of


def test_the_command_line_sets_the_firmware_playback() -> None:
    config = config_of(parse_args(["--id", "CP-1", "--firmware-step-s", "0.2", "--firmware-fail",
                                   "InstallationFailed", "--firmware-fail-attempts", "2",
                                   "--firmware-offline-s", "30"]))
    assert config.firmware == FirmwareOptions(step_s=0.2, fail="InstallationFailed",
                                              fail_attempts=2, offline_s=30.0)


def test_an_unknown_failure_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--id", "CP-1", "--firmware-fail", "Idle"])
    assert "--firmware-fail" in capsys.readouterr().err


@pytest.mark.parametrize(("location", "version"), [
    ("https://fw.example.com/cp-2.1.0.bin", "2.1.0"),
    ("https://fw.example.com/v1.2/fw-3.4.bin?sig=1", "3.4"),
    ("https://fw.example.com/latest.bin", "1.0.0-updated"),
])
def test_the_new_version_comes_from_the_file_name(location: str, version: str) -> None:
    assert version_of(location, "1.0.0-updated") == version
