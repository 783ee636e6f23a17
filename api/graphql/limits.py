"""Depth and cost limits: an abusive query is refused at validation, before any resolver runs.

Cost: every field selected costs 1, times the page sizes of the list fields above it
(`first`, or the largest page when it comes from a variable). Depth: nested selection levels.
Fragments count where they are spread; a fragment spread inside itself is GraphQL's own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationContext

PAGE_ARGS = ("first",)
MAX_PAGE = 200


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_cost: int


@dataclass
class Measure:
    depth: int = 0
    cost: int = 0


def _page_size(field: FieldNode) -> int:
    for arg in field.arguments or ():
        if arg.name.value in PAGE_ARGS:
            if isinstance(arg.value, IntValueNode):
                return max(1, min(int(arg.value.value), MAX_PAGE))
            return MAX_PAGE  # a variable: the largest page it could ask for
    return 1


def measure(ctx: ASTValidationContext, selections: SelectionSetNode | None, depth: int,
            weight: int, out: Measure, seen: frozenset[str] = frozenset()) -> None:
    """Add the depth and cost of `selections` (at `depth`, each field costing `weight`)."""
    for node in selections.selections if selections else ():
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):
                continue  # introspection is bounded by the schema itself
            out.depth = max(out.depth, depth)
            out.cost += weight
            if node.selection_set is not None:
                measure(ctx, node.selection_set, depth + 1, weight * _page_size(node), out,
                        seen)
        elif isinstance(node, InlineFragmentNode):
            measure(ctx, node.selection_set, depth, weight, out, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = ctx.get_fragment(node.name.value)
            if fragment is not None:
                measure(ctx, fragment.selection_set, depth, weight, out,
                        seen | {node.name.value})


def limits_rule(limits: Limits) -> type[ASTValidationRule]:
    """A graphql-core validation rule enforcing `limits` on every operation."""

    class QueryLimits(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode,
                                       *_args: Any) -> None:
            found = Measure()
            measure(self.context, node.selection_set, 1, 1, found)
            name = node.name.value if node.name else "anonymous"
            if found.depth > limits.max_depth:
                self.report_error(GraphQLError(
                    f"operation {name} is {found.depth} levels deep; the limit is "
                    f"{limits.max_depth}", node, extensions={
                        "code": "QUERY_TOO_DEEP", "depth": found.depth,
                        "maxDepth": limits.max_depth}))
            if found.cost > limits.max_cost:
                self.report_error(GraphQLError(
                    f"operation {name} costs {found.cost}; the limit is {limits.max_cost}",
                    node, extensions={"code": "QUERY_TOO_COSTLY", "cost": found.cost,
                                      "maxCost": limits.max_cost}))

    return QueryLimits
