"""The GraphQL schema: queries, mutations, subscriptions, limits and coded errors."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)

from api.graphql.errors import CodedErrors
from api.graphql.limits import Limits, limits_rule
from api.graphql.mutations import Mutation
from api.graphql.queries import Query
from api.graphql.subscriptions import Subscription

MAX_ALIASES = 30
MAX_TOKENS = 4000
CACHED_DOCUMENTS = 256  # parsed and validated documents kept (an app sends a few, repeatedly)


def build_schema(limits: Limits) -> strawberry.Schema:
    """The schema with depth and cost limits (api.graphql.limits) and coded errors.

    The validation rules are built once: the validation cache is keyed by them, so rules
    made per request (a new class each time) would never hit it."""
    rules = [limits_rule(limits), *MaxAliasesLimiter(MAX_ALIASES).validation_rules]
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription,
        extensions=[lambda: AddValidationRules(rules),
                    lambda: MaxTokensLimiter(MAX_TOKENS),
                    lambda: ParserCache(CACHED_DOCUMENTS),
                    lambda: ValidationCache(CACHED_DOCUMENTS), CodedErrors])


def sdl(schema: strawberry.Schema) -> str:
    """The schema as SDL (GET /graphql/schema.graphql)."""
    return schema.as_str() + "\n"
