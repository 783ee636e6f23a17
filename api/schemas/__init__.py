"""Request and response bodies: frozen msgspec Structs, camelCase on the wire."""
