"""The operator surface (issue 20): dashboard figures, node summaries and the alert rules."""
