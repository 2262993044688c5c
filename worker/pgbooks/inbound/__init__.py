"""Two-way sync: changes made in QuickBooks flow back (webhooks, CDC sweeps, conflict policies).

Decisions live in SQL (``sql/code/inbound``); this package only moves bytes: it reads the
entities and CDC pages over HTTP and hands them to ``api.inbound_*`` functions.
"""
