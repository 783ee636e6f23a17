"""V2G discharge sessions: one actor per discharge, metered export paid to the wallet."""
