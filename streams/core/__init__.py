"""The pure core: no Faust, aiokafka, Redis or FastAPI."""
