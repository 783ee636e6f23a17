"""Generated OCPP wire models (see sigec_actors.ocpp.codegen)."""
