import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Connector(_message.Message):
    __slots__ = ("evse_id", "connector_id", "status", "status_changed_at", "type", "max_power_w")
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_W_FIELD_NUMBER: _ClassVar[int]
    evse_id: int
    connector_id: int
    status: str
    status_changed_at: _timestamp_pb2.Timestamp
    type: str
    max_power_w: int
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[str] = ..., status_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., max_power_w: _Optional[int] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("id", "vendor", "model", "admin_status", "online", "last_seen", "location_id", "serial_number", "firmware_version", "connectors")
    ID_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ADMIN_STATUS_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    id: str
    vendor: str
    model: str
    admin_status: str
    online: bool
    last_seen: _timestamp_pb2.Timestamp
    location_id: str
    serial_number: str
    firmware_version: str
    connectors: _containers.RepeatedCompositeFieldContainer[Connector]
    def __init__(self, id: _Optional[str] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., admin_status: _Optional[str] = ..., online: _Optional[bool] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., location_id: _Optional[str] = ..., serial_number: _Optional[str] = ..., firmware_version: _Optional[str] = ..., connectors: _Optional[_Iterable[_Union[Connector, _Mapping]]] = ...) -> None: ...

class GetDeviceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices", "total", "next_page_token")
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    total: int
    next_page_token: str
    def __init__(self, devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ..., total: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendCommandRequest(_message.Message):
    __slots__ = ("device_id", "command", "body_json")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    command: str
    body_json: str
    def __init__(self, device_id: _Optional[str] = ..., command: _Optional[str] = ..., body_json: _Optional[str] = ...) -> None: ...

class SendCommandResponse(_message.Message):
    __slots__ = ("status", "response_json")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_JSON_FIELD_NUMBER: _ClassVar[int]
    status: str
    response_json: str
    def __init__(self, status: _Optional[str] = ..., response_json: _Optional[str] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ("device_id",)
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    def __init__(self, device_id: _Optional[str] = ...) -> None: ...

class StatusEvent(_message.Message):
    __slots__ = ("station_id", "evse_id", "connector_id", "status", "previous", "timestamp")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    evse_id: int
    connector_id: int
    status: str
    previous: str
    timestamp: str
    def __init__(self, station_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[str] = ..., previous: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("id", "station_transaction_id", "charge_point_id", "evse_id", "connector_id", "status", "incomplete", "charging_state", "stopped_reason", "started_at", "ended_at", "energy_wh", "energy_export_wh", "cost_centavos", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATION_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGE_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_FIELD_NUMBER: _ClassVar[int]
    CHARGING_STATE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    ENERGY_EXPORT_WH_FIELD_NUMBER: _ClassVar[int]
    COST_CENTAVOS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    station_transaction_id: str
    charge_point_id: str
    evse_id: int
    connector_id: int
    status: str
    incomplete: bool
    charging_state: str
    stopped_reason: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    energy_wh: int
    energy_export_wh: int
    cost_centavos: int
    currency: str
    def __init__(self, id: _Optional[str] = ..., station_transaction_id: _Optional[str] = ..., charge_point_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[str] = ..., incomplete: _Optional[bool] = ..., charging_state: _Optional[str] = ..., stopped_reason: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_wh: _Optional[int] = ..., energy_export_wh: _Optional[int] = ..., cost_centavos: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status", "station_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: str
    station_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[str] = ..., station_id: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "total", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    total: int
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., total: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StartTransactionRequest(_message.Message):
    __slots__ = ("station_id", "evse_id")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    evse_id: int
    def __init__(self, station_id: _Optional[str] = ..., evse_id: _Optional[int] = ...) -> None: ...

class StartTransactionResponse(_message.Message):
    __slots__ = ("accepted", "status", "remote_start_id", "station_transaction_id")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_START_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    status: str
    remote_start_id: int
    station_transaction_id: str
    def __init__(self, accepted: _Optional[bool] = ..., status: _Optional[str] = ..., remote_start_id: _Optional[int] = ..., station_transaction_id: _Optional[str] = ...) -> None: ...

class StopTransactionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StopTransactionResponse(_message.Message):
    __slots__ = ("accepted", "status")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    status: str
    def __init__(self, accepted: _Optional[bool] = ..., status: _Optional[str] = ...) -> None: ...

class WatchTransactionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class V2GSession(_message.Message):
    __slots__ = ("id", "charge_point_id", "evse_id", "transaction_id", "status", "started_at", "ended_at", "min_soc", "start_soc", "current_soc", "exported_wh", "power_w", "stop_reason", "gross_centavos", "margin_centavos", "net_centavos", "compensation_status")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHARGE_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    MIN_SOC_FIELD_NUMBER: _ClassVar[int]
    START_SOC_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SOC_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_WH_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    GROSS_CENTAVOS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CENTAVOS_FIELD_NUMBER: _ClassVar[int]
    NET_CENTAVOS_FIELD_NUMBER: _ClassVar[int]
    COMPENSATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    charge_point_id: str
    evse_id: int
    transaction_id: str
    status: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    min_soc: int
    start_soc: int
    current_soc: int
    exported_wh: int
    power_w: int
    stop_reason: str
    gross_centavos: int
    margin_centavos: int
    net_centavos: int
    compensation_status: str
    def __init__(self, id: _Optional[str] = ..., charge_point_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., transaction_id: _Optional[str] = ..., status: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_soc: _Optional[int] = ..., start_soc: _Optional[int] = ..., current_soc: _Optional[int] = ..., exported_wh: _Optional[int] = ..., power_w: _Optional[int] = ..., stop_reason: _Optional[str] = ..., gross_centavos: _Optional[int] = ..., margin_centavos: _Optional[int] = ..., net_centavos: _Optional[int] = ..., compensation_status: _Optional[str] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StartDischargeRequest(_message.Message):
    __slots__ = ("station_id", "evse_id", "min_soc", "max_energy_wh", "until")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SOC_FIELD_NUMBER: _ClassVar[int]
    MAX_ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    evse_id: int
    min_soc: int
    max_energy_wh: int
    until: _timestamp_pb2.Timestamp
    def __init__(self, station_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., min_soc: _Optional[int] = ..., max_energy_wh: _Optional[int] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StopDischargeRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GridPriceRequest(_message.Message):
    __slots__ = ("submarket", "station_id")
    SUBMARKET_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    submarket: str
    station_id: str
    def __init__(self, submarket: _Optional[str] = ..., station_id: _Optional[str] = ...) -> None: ...

class GridPrice(_message.Message):
    __slots__ = ("submarket", "hour_start", "pld_centavos_per_mwh", "price_centavos_per_mwh", "price_centavos_per_kwh", "is_peak", "source", "stale")
    SUBMARKET_FIELD_NUMBER: _ClassVar[int]
    HOUR_START_FIELD_NUMBER: _ClassVar[int]
    PLD_CENTAVOS_PER_MWH_FIELD_NUMBER: _ClassVar[int]
    PRICE_CENTAVOS_PER_MWH_FIELD_NUMBER: _ClassVar[int]
    PRICE_CENTAVOS_PER_KWH_FIELD_NUMBER: _ClassVar[int]
    IS_PEAK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    submarket: str
    hour_start: _timestamp_pb2.Timestamp
    pld_centavos_per_mwh: int
    price_centavos_per_mwh: int
    price_centavos_per_kwh: int
    is_peak: bool
    source: str
    stale: bool
    def __init__(self, submarket: _Optional[str] = ..., hour_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pld_centavos_per_mwh: _Optional[int] = ..., price_centavos_per_mwh: _Optional[int] = ..., price_centavos_per_kwh: _Optional[int] = ..., is_peak: _Optional[bool] = ..., source: _Optional[str] = ..., stale: _Optional[bool] = ...) -> None: ...
