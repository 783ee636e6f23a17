"""Transactions, authorization, tariffs, billing and reservations (issue 7)."""
