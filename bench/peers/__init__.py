"""Servers the bench measures side by side: bare websockets, an ocpp-library CSMS, SIGEC."""
