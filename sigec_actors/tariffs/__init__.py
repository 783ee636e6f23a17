"""Operator-managed tariffs: scopes, the overlap rule and how an edit keeps sessions' prices."""
