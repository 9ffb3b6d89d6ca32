"""The read side: Redis, the one place that holds what the workers export and what screens read.

Every Redis key and channel (keys.py), the snapshots written by workers and merged by readers
(snapshots.py), the versioned documents (settings, alert rules), and the read model with the one
"now" and "today" rule that the API, the WebSocket hub and the alert runner share (reader.py).
"""
