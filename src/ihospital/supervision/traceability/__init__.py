"""Traceability (全程留痕、有迹可循, R13, issue 7 item 4): the timeline of one case (a consultation,
a prescription with every version) rebuilt from the domain records and the audit trail, and its
case file (PDF, JSON) stating whether the audit chain verifies.

A kind of case plugs in by registering one reader (:func:`~.kinds.register`); the readers of
the kinds that exist are in :mod:`.readers`.
"""
