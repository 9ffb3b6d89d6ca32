"""Scope tags: the first element of a counter's scope, which says what the counter is summed over.

streams/core/agent_tables.py files the counters by them; every buyer's facts and deltas carry them, so
they are kept one or two letters (and they are in stored snapshots: never change a value).
"""

SCOPE_AGENT_DAY = "a"  # (SCOPE_AGENT_DAY, day, agent)
SCOPE_GROUP_DAY = "g"  # (SCOPE_GROUP_DAY, day, group)
SCOPE_TEAM_DAY = "t"  # (SCOPE_TEAM_DAY, day)
SCOPE_AGENT_MINUTE = "am"  # (SCOPE_AGENT_MINUTE, minute start ms, agent)
SCOPE_TEAM_MINUTE = "tm"  # (SCOPE_TEAM_MINUTE, minute start ms)
# Figures of the buyers' state "now" that no clock changes (streams/core/money.py: balance_due):
SCOPE_AGENT_NOW = "an"  # (SCOPE_AGENT_NOW, agent)
SCOPE_TEAM_NOW = "tn"  # (SCOPE_TEAM_NOW,)
# One open unpaid order of the buyer (the 待催付 list), counter "orders" = 1; the agent tables add the buyer:
SCOPE_UNPAID_ORDER = "uo"  # (SCOPE_UNPAID_ORDER, order_id, order agent or "", created ts, amount fen, chased 0/1)
