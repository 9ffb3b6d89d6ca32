"""The Faust worker: the app, its topics, tables and agents (app.py), the RocksDB state store, the
export of the partition tables to Redis, and its Prometheus metrics. `python -m streams.worker`."""
