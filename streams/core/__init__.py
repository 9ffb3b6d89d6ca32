"""The pure core: the decision logic of every figure. No Faust, aiokafka, Redis or FastAPI here.

Events (the contract) → buyer records (the single source of truth) → facts → partition tables →
figures and API views. Everything below takes values and returns values; tests/unit/test_purity.py
imports the whole package and checks that no I/O library was loaded.
"""
