"""The committed models are what the generator makes from the schemas in the installed wheel."""

from __future__ import annotations

import datetime
from pathlib import Path

import msgspec

from sigec_actors.ocpp import codegen
from sigec_actors.ocpp.actions import Direction
from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp.generated.v201 import ACTIONS


def test_committed_module_is_current() -> None:
    committed = codegen.OUTPUT.read_text(encoding="utf-8")
    assert committed == codegen.render(), (
        "sigec_actors/ocpp/generated/v201.py is stale: run "
        "`.venv/bin/python -m sigec_actors.ocpp.codegen`"
    )


def test_check_mode_reports_stale_file(tmp_path: Path) -> None:
    assert codegen.main(["--check"]) == 0
    stale = tmp_path / "v201.py"
    stale.write_text("# old\n", encoding="utf-8")
    assert codegen.main(["--check", "--output", str(stale)]) == 1


def test_every_schema_has_an_action_with_both_messages() -> None:
    schemas = codegen.load_schemas(codegen.schema_dir())
    assert len(schemas) == 128
    assert len(ACTIONS) == 64
    for name, spec in ACTIONS.items():
        assert spec.request.__name__ == f"{name}Request"
        assert spec.response.__name__ == f"{name}Response"
        assert issubclass(spec.request, msgspec.Struct)


def test_directions_follow_the_spec() -> None:
    assert ACTIONS["BootNotification"].direction is Direction.CS_TO_CSMS
    assert ACTIONS["Reset"].direction is Direction.CSMS_TO_CS
    assert ACTIONS["DataTransfer"].direction is Direction.BOTH
    station = [n for n, s in ACTIONS.items() if s.station_may_call]
    csms = [n for n, s in ACTIONS.items() if s.csms_may_call]
    assert (len(station), len(csms)) == (25, 40)


def test_models_are_frozen_snake_case_and_camel_on_the_wire() -> None:
    request = v201.StatusNotificationRequest(
        timestamp=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        connector_status=v201.ConnectorStatusEnum.AVAILABLE,
        evse_id=1,
        connector_id=2,
    )
    assert msgspec.json.encode(request) == (
        b'{"timestamp":"2024-01-01T00:00:00Z","connectorStatus":"Available",'
        b'"evseId":1,"connectorId":2}'
    )
    assert v201.StatusNotificationRequest.__struct_config__.frozen
    assert v201.StatusNotificationRequest.__struct_config__.forbid_unknown_fields
    assert not v201.CustomData.__struct_config__.forbid_unknown_fields


def test_names() -> None:
    assert codegen.snake("evseId") == "evse_id"
    assert codegen.snake("SOCLimitReached") == "soc_limit_reached"
    assert codegen.enum_member("Current.Export") == "CURRENT_EXPORT"
    assert codegen.enum_member("15118") == "V_15118"
