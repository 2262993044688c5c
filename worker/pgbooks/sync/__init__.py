"""Delivery engine: the worker that drains ``sync.outbox`` to QuickBooks Online.

Every decision (what to send, when, to whom, what a failure means) is taken by ``api.*`` SQL
functions; this package is transport only: OAuth token custody, HTTP, timeouts, and the
claim -> HTTP -> complete/fail loop.
"""
