"""GraphQL errors with codes: typed errors as REST maps them, anything else masked as INTERNAL."""

from __future__ import annotations

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from api.error_codes import failure_of

log = structlog.get_logger("api.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    """`error` with `extensions.code`: our typed errors keep their message, bugs are masked."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax, validation (limits carry their own code) or already coded
    failure = failure_of(original)
    if failure is None:
        log.error("graphql_unhandled_error", path=error.path, exc_info=original)
        return GraphQLError("internal error", error.nodes, path=error.path,
                            extensions={"code": "INTERNAL"})
    return GraphQLError(failure.message, error.nodes, path=error.path,
                        extensions={"code": failure.code, "status": failure.status,
                                    **failure.details})


class CodedErrors(MaskErrors):
    """Every error leaves with a code (see `coded`)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return coded(error)
