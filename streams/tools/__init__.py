"""Tools around the pipeline: the command line (`kefu-pulse`), the batch engine (a day through the
core without Kafka, for replays and tests) and the Double-11 simulator."""
