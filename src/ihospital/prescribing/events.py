"""Events of prescriptions, for the patient, the doctor and supervision (R13).

A prescription signed or voided, the pharmacist's decision and an overdue review are each one
audit entry and one outbox event written in the transaction that made them. The event's
handler calls each subscriber in turn (a subscriber registers with ``@subscribe(SIGNED)`` in its
domain's ``tasks`` module; see :mod:`ihospital.outbox.publications`).
"""

from __future__ import annotations

from ihospital.outbox.publications import Publications
from ihospital.prescribing.review import APPROVED, REJECTED
from ihospital.prescribing.review_statistics import OVERDUE
from ihospital.prescribing.service import SIGNED, VOIDED

TOPICS = (SIGNED, VOIDED, APPROVED, REJECTED, OVERDUE)
PUBLICATIONS = Publications("prescribing", TOPICS)
# Every payload holds prescription_id, institution_id, patient_id and prescriber_id.
subscribe = PUBLICATIONS.subscribe
