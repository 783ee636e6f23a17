"""The GraphQL schema: queries, mutations, subscriptions, limits and coded errors."""

from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter

from api.graphql.errors import CodedErrors
from api.graphql.limits import Limits, limits_rule
from api.graphql.mutations import Mutation
from api.graphql.queries import Query
from api.graphql.subscriptions import Subscription

MAX_ALIASES = 30
MAX_TOKENS = 4000


def build_schema(limits: Limits) -> strawberry.Schema:
    """The schema with depth and cost limits (api.graphql.limits) and coded errors."""
    rule = limits_rule(limits)
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription,
        extensions=[lambda: AddValidationRules([rule]),
                    lambda: MaxAliasesLimiter(MAX_ALIASES),
                    lambda: MaxTokensLimiter(MAX_TOKENS), CodedErrors])


def sdl(schema: strawberry.Schema) -> str:
    """The schema as SDL (GET /graphql/schema.graphql)."""
    return schema.as_str() + "\n"
