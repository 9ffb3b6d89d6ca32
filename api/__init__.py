"""Kefu Pulse API: ingest, REST figures, settings, WebSocket fan-out, screens."""
