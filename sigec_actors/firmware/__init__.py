"""Firmware updates as actors: one FirmwareJob per update, campaigns across a fleet."""
