"""Operator reports: background job actors that stream rows from PostgreSQL into CSV or PDF."""
