"""PostgreSQL remote starts: who asked for each RequestStartTransaction, claimed by one session."""

from __future__ import annotations

from sigec_actors.adapters.pg import ForeignKeyViolation, to_record
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import RemoteStart
from sigec_actors.ports import DbPool

_COLUMNS = ("charge_point_id AS station_id, remote_start_id, id_token, id_token_type, user_id,"
            " station_transaction_id")
_REMEMBER = ("INSERT INTO remote_starts (charge_point_id, remote_start_id, id_token,"
             " id_token_type, user_id) VALUES ($1, $2, $3, $4, $5)"
             " ON CONFLICT (charge_point_id, remote_start_id) DO NOTHING")
_CLAIM = ("UPDATE remote_starts SET station_transaction_id = $3"  # noqa: S608 -- constant
          " WHERE charge_point_id = $1 AND remote_start_id = $2"
          " AND (station_transaction_id IS NULL OR station_transaction_id = $3)"
          f" RETURNING {_COLUMNS}")
_FORGET = ("DELETE FROM remote_starts WHERE charge_point_id = $1 AND remote_start_id = $2"
           " AND station_transaction_id IS NULL")


class PgRemoteStarts:
    """The RemoteStarts port on PostgreSQL: every node sees the same pending starts."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def remember_remote_start(self, start: RemoteStart) -> bool:
        """Store a remote start before it is sent; False if its id is taken on that station.
        Raises UnknownStation."""
        try:
            async with self._pool.acquire() as conn:
                status = await conn.execute(_REMEMBER, start.station_id, start.remote_start_id,
                                            start.id_token, start.id_token_type, start.user_id)
        except ForeignKeyViolation as exc:
            raise UnknownStation(start.station_id) from exc
        return str(status).endswith(" 1")

    async def claim_remote_start(self, station_id: str, remote_start_id: int,
                                 station_transaction_id: str) -> RemoteStart | None:
        """The remote start, now claimed by the transaction (again: the same answer); None if
        unknown or claimed by another transaction."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_CLAIM, station_id, remote_start_id,
                                      station_transaction_id)
        return None if row is None else to_record(row, RemoteStart)

    async def forget_remote_start(self, station_id: str, remote_start_id: int) -> None:
        """Drop an unclaimed remote start (the station refused it or never got it)."""
        async with self._pool.acquire() as conn:
            await conn.execute(_FORGET, station_id, remote_start_id)
