"""Billing: orders, payments, refunds, the double-entry ledger and receipts (see issue 3)."""
