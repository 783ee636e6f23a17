"""Payments: wallet top-ups by card, PIX and boleto through a provider, webhooks, refunds."""
