"""Kefu Pulse stream processing: events → topics → buyer state → facts → agent tables → snapshots."""
