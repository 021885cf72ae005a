"""Reporting feed (数据上报) to the provincial supervision platform (R13, issue 7 item 6).

Domain events become standardised, versioned records in a feed table, written in the
transaction that handles the event; a pusher run by the outbox worker sends them in sequence
order to the platform, and the regulator sees the feed's lag and failures.
"""
