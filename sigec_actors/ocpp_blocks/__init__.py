"""OCPP 2.0.1 blocks D, O, J, P: local lists, display messages, meter values, data transfer."""
