"""Alert hooks (shared/spec/api.md, "Alert rules and webhooks"); design in docs/alerts.md.

- rules.py      rule documents: validation, webhook URL policy, defaults
- store.py      Redis keys and I/O: versioned rules, alert state, alert list, outbox, delivery jobs
- evaluate.py   pure evaluation: (rules, figures at now, previous state) → transitions + new state
- runner.py     the worker side: a Faust timer evaluates each shop on the worker owning its home partition
- formats.py    webhook bodies (generic, DingTalk, WeCom, Feishu, Slack) and signatures
- dispatcher.py `python -m streams.alerts.dispatcher`: alerts topic → durable delivery jobs → POSTs
- receiver.py   `python -m streams.alerts.receiver`: a tiny local receiver that prints and verifies
"""
