"""The ChargePoint actor (one per connected station), its command API and gateway sessions."""
