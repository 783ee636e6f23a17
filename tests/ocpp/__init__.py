"""Tests of the OCPP wire models, codec and RPC framing."""
