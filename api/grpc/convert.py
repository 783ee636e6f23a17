"""REST answers (api.schemas) as the protobuf messages of api/grpc/proto/sigec.proto."""

from __future__ import annotations

from api.grpc.calls import stamp
from api.grpc.proto import sigec_pb2 as pb
from api.routes.v2g_prices import GridPriceOut
from api.schemas.stations import ConnectorOut, DeviceDetailOut, DeviceOut
from api.schemas.transactions import TransactionOut
from api.schemas.v2g import SessionOut


def connector(c: ConnectorOut) -> pb.Connector:
    return pb.Connector(evse_id=c.evse_id, connector_id=c.connector_id, status=c.status,
                        status_changed_at=stamp(c.status_changed_at), type=c.type,
                        max_power_w=c.max_power_w)


def device(d: DeviceOut, connectors: list[ConnectorOut]) -> pb.Device:
    return pb.Device(id=d.id, vendor=d.vendor, model=d.model, admin_status=d.admin_status,
                     online=d.online, last_seen=stamp(d.last_seen), location_id=d.location_id,
                     connectors=[connector(c) for c in connectors])


def device_detail(d: DeviceDetailOut) -> pb.Device:
    return pb.Device(id=d.id, vendor=d.vendor, model=d.model, admin_status=d.admin_status,
                     online=d.online, last_seen=stamp(d.last_seen),
                     location_id=d.location.id if d.location else None,
                     serial_number=d.serial_number, firmware_version=d.firmware_version,
                     connectors=[connector(c) for c in d.connectors])


def transaction(t: TransactionOut) -> pb.Transaction:
    return pb.Transaction(
        id=str(t.id), station_transaction_id=t.station_transaction_id,
        charge_point_id=t.charge_point_id, evse_id=t.evse_id, connector_id=t.connector_id,
        status=t.status, incomplete=t.incomplete, charging_state=t.charging_state,
        stopped_reason=t.stopped_reason, started_at=stamp(t.started_at),
        ended_at=stamp(t.ended_at), energy_wh=t.energy_wh, energy_export_wh=t.energy_export_wh,
        cost_centavos=t.cost.amount_centavos, currency=t.cost.currency)


def v2g_session(s: SessionOut) -> pb.V2GSession:
    c = s.compensation
    return pb.V2GSession(
        id=str(s.id), charge_point_id=s.charge_point_id, evse_id=s.evse_id,
        transaction_id=s.transaction_id, status=s.status, started_at=stamp(s.started_at),
        ended_at=stamp(s.ended_at), min_soc=s.min_soc, start_soc=s.start_soc,
        current_soc=s.current_soc, exported_wh=s.exported_wh, power_w=s.power_w,
        stop_reason=s.stop_reason, gross_centavos=c.gross_centavos,
        margin_centavos=c.margin_centavos, net_centavos=c.net_centavos,
        compensation_status=c.status)


def grid_price(p: GridPriceOut) -> pb.GridPrice:
    return pb.GridPrice(
        submarket=str(p.submarket), hour_start=stamp(p.hour_start),
        pld_centavos_per_mwh=p.pld_centavos_per_mwh,
        price_centavos_per_mwh=p.price_centavos_per_mwh,
        price_centavos_per_kwh=p.price_centavos_per_kwh, is_peak=p.is_peak, source=p.source,
        stale=p.stale)
