"""Reconciliation: bank statement import, payout matching, the operators' exception queue.

The rules live in SQL (``api.bank_statement__import``, ``api.bank__match``,
``api.exception__*``); this package parses files and calls those functions.
"""
