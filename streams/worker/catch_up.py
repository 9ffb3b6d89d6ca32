"""What changes while a worker is behind: the one place that says when a partition is catching up, and
how the worker then takes its records and exports its shops. No Faust here (bench.offline models the
worker with it).

A partition is catching up when more than CATCH_UP_RECORDS of its records wait in Kafka after its last
batch, and that batch's records were no longer fresh (streams/worker/kafka_positions.py): a restart, a
rebalance, an overload beyond the worker's rate. A worker that keeps up never is (its backlog stays
under a second of records by the definition of the sustainable rate). While one is:
- its shops are exported at most every CATCH_UP_EXPORT_INTERVAL_S instead of config.export_interval_s;
- the worker's batches wait up to CATCH_UP_BATCH_WITHIN_S for BATCH_MAX records instead of
  BATCH_WITHIN_S (batch_window);
- retention's sweep waits (streams/worker/app.py).
Its screens are seconds behind then anyway; once it has caught up, all three are as before.
"""

from __future__ import annotations

# 1,000 records is ~4 s of a worker's work on a partition at the benchmark's rates: well above the
# backlog of a stack that keeps up. At 200 a full `make bench` switched to catch-up exports during the
# surge at 80 % of S and missed its p99 (2.45 s).
CATCH_UP_RECORDS = 1_000
# Each export first derives the buyers its batches touched (settle): a buyer touched in many batches is
# derived once per export rather than once per batch. 3 s rather than 1 s: two workers caught up 300,000
# events 1.04–1.33× faster (4 pairs, docs/performance-journal.md), and a wall already seconds behind moves in
# 3-second steps for as long as the backlog lasts.
CATCH_UP_EXPORT_INTERVAL_S = 3.0

BATCH_MAX = 2000  # records per batch, at most
# Faust hands a batch over after this wait (unless BATCH_MAX records came first); records reach the batch
# only while the loop waits. Live, a short wait: a longer one delays every figure by it, and with 0.1 s a
# full `make bench` missed the end-to-end p99 at 80 % of the sustainable rate (2.4 s against ≤ 1 s).
BATCH_WITHIN_S = 0.02
# While behind, a longer one: batches of ~650–1,000 records instead of ~100–190 per worker (4 partitions), so
# a buyer with several events waiting is applied and written once for them rather than once per event, and
# the per-batch work (RocksDB write, changelog, cursors) is paid less often. A 1,200-agent shop caught up
# 1.08–1.40× faster in the pipeline (2 workers, 3 pairs; four 12-agent shops 0.89–1.05×, within the
# noise); the 0.2 s are far inside the catch-up's 3-second exports, and 0.5 s gave batches hardly larger
# (docs/performance-journal.md).
CATCH_UP_BATCH_WITHIN_S = 0.2


def catching_up(records_waiting: int) -> bool:
    """A partition with more than CATCH_UP_RECORDS records waiting in Kafka after its last batch."""
    return records_waiting > CATCH_UP_RECORDS


def export_interval(interval_s: float, records_waiting: int) -> float:
    """How long a (shop, partition) waits between exports: `interval_s` (config.export_interval_s), or
    CATCH_UP_EXPORT_INTERVAL_S while the partition is catching up."""
    return CATCH_UP_EXPORT_INTERVAL_S if catching_up(records_waiting) else interval_s


def batch_window(behind: bool) -> float:
    """How long the worker's next batch waits for records: CATCH_UP_BATCH_WITHIN_S while a partition of
    the worker is catching up (`behind`), else BATCH_WITHIN_S. The window is the worker's, not the
    partition's (one stream takes all its partitions' records), so while one partition catches up the
    others' figures may wait up to 0.2 s longer for their batch."""
    return CATCH_UP_BATCH_WITHIN_S if behind else BATCH_WITHIN_S
