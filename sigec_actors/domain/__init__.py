"""Plain data shared by ports and adapters: frozen records, enumerations, typed errors."""
