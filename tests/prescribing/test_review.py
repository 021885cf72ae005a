"""The pharmacist's review (审方) as a service: the institution's queue oldest first, an audited
read with the signature check and the allergies of the signed record, approval and rejection
with coded reasons (R20), and every refusal changing nothing: no reason, an unknown reason,
deciding twice, one's own prescription, another institution's, a prescription edited after
signing or with a forged signature."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from ihospital.audit.models import AuditEntry
from ihospital.consultation.records.service import sign_record
from ihospital.errors import Conflict, Forbidden, NotFound, Unprocessable
from ihospital.identity.models import Account
from ihospital.prescribing.allergies import record_allergy
from ihospital.prescribing.checks import Allergy
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.review import (
    APPROVED,
    REJECTED,
    decide_prescription,
    open_for_review,
    review_queue,
)
from tests.consultation.builders import doctor_actor
from tests.consultation.test_records import CONTENT
from tests.directory.builders import make_staff
from tests.identity.builders import CIPHER
from tests.prescribing.review_builders import (
    audit_actions,
    count,
    events,
    make_pharmacy,
    prescribe,
    staff_actor,
)


async def test_the_queue_holds_the_institutions_waiting_prescriptions_oldest_first(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    first = await prescribe(session, clock, pharmacy)
    clock.advance(timedelta(minutes=10))
    second = await prescribe(session, clock, pharmacy)
    await prescribe(session, clock, pharmacy, status="approved")
    elsewhere = await make_pharmacy(session, clock)
    await prescribe(session, clock, elsewhere)
    clock.advance(timedelta(minutes=5))

    queue = await review_queue(session, pharmacy.pharmacist_actor(clock))

    assert [entry.prescription.id for entry in queue] == [first.id, second.id]
    assert [entry.waited for entry in queue] == [timedelta(minutes=15), timedelta(minutes=5)]
    assert queue[0].prescriber.name == pharmacy.practice.doctor.name
    assert await count(session, AuditEntry, AuditEntry.action == "prescribing.review_queue_read")


async def test_opening_a_prescription_shows_allergies_and_a_verified_signature(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    await sign_record(
        session, doctor, consultation_id=pharmacy.consultation.id, content=CONTENT, cipher=CIPHER
    )
    await record_allergy(
        session,
        doctor,
        consultation_id=pharmacy.consultation.id,
        kind="atc",
        code="J01C",
        reaction="皮疹",
    )
    prescription = await prescribe(session, clock, pharmacy)

    view = await open_for_review(
        session, pharmacy.pharmacist_actor(clock), prescription_id=prescription.id
    )

    # what the prescribing checks read: the recorded list and the signed record's text
    assert view.allergies.recorded == [Allergy("atc", "J01C", "皮疹")]
    assert view.allergies.record_text == "青霉素过敏"
    assert view.signature.valid and view.signature.reason is None
    assert [item.drug_code for item in view.items] == [pharmacy.drug.code]
    assert await audit_actions(session, prescription.id) == ["prescription.read"]


async def test_approval_records_the_reviewer_and_publishes_the_decision(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    clock.advance(timedelta(minutes=12))

    approved = await decide_prescription(
        session,
        pharmacy.pharmacist_actor(clock),
        prescription_id=prescription.id,
        decision="approve",
    )

    assert approved.status == "approved"
    assert approved.reviewed_by_account_id == pharmacy.pharmacist.id
    assert approved.reviewed_at == clock.now() and approved.rejection_codes is None
    [event] = await events(session, APPROVED)
    assert '"review_seconds": 720' in event.payload
    assert await audit_actions(session, prescription.id) == [APPROVED]


async def test_rejection_keeps_its_reasons_in_the_standards_order_and_the_note(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)

    rejected = await decide_prescription(
        session,
        pharmacy.pharmacist_actor(clock),
        prescription_id=prescription.id,
        decision="reject",
        reasons=["I07", "N12", "I07"],
        note="  氨氯地平与硝苯地平重复  ",
    )

    assert (rejected.status, rejected.rejection_codes) == ("rejected", ["N12", "I07"])
    assert rejected.review_note == "氨氯地平与硝苯地平重复"
    assert len(await events(session, REJECTED)) == 1


BAD_DECISIONS = [
    ({"decision": "reject"}, "prescribing.reasons_required"),
    ({"decision": "reject", "reasons": ["N01", "X99"]}, "prescribing.reason_unknown"),
    ({"decision": "approve", "reasons": ["N01"]}, "prescribing.reasons_with_approval"),
    ({"decision": "maybe"}, "prescribing.decision_invalid"),
    ({"decision": "reject", "reasons": ["N01"], "note": "x" * 501}, "prescribing.note_invalid"),
]


@pytest.mark.parametrize(("changes", "code"), BAD_DECISIONS, ids=[c for _, c in BAD_DECISIONS])
async def test_a_bad_decision_is_refused_and_changes_nothing(session, clock, changes, code):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)

    with pytest.raises(Unprocessable) as refused:
        await decide_prescription(
            session, pharmacy.pharmacist_actor(clock), prescription_id=prescription.id, **changes
        )

    assert refused.value.code == code
    assert (await session.get(Prescription, prescription.id)).status == "pending_review"
    assert await audit_actions(session, prescription.id) == []


async def test_a_prescription_is_decided_once(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    actor = pharmacy.pharmacist_actor(clock)
    await decide_prescription(session, actor, prescription_id=prescription.id, decision="approve")

    with pytest.raises(Conflict) as refused:
        await decide_prescription(
            session, actor, prescription_id=prescription.id, decision="reject", reasons=["N01"]
        )

    assert refused.value.code == "prescribing.already_decided"
    assert refused.value.fields["prescription_status"] == "approved"
    assert len(await events(session, REJECTED)) == 0


async def test_a_decision_losing_the_race_is_refused_by_the_conditional_update(session, clock):
    """The prescription read as waiting, but another pharmacist's decision committed meanwhile."""
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    await session.execute(
        update(Prescription)
        .where(Prescription.id == prescription.id)
        .values(status="rejected", rejection_codes=["N01"])
        .execution_options(synchronize_session=False)
    )
    assert prescription.status == "pending_review"  # what this session still believes

    with pytest.raises(Conflict) as refused:
        await decide_prescription(
            session,
            pharmacy.pharmacist_actor(clock),
            prescription_id=prescription.id,
            decision="approve",
        )

    assert refused.value.fields["prescription_status"] == "rejected"
    assert len(await events(session, APPROVED)) == 0


async def test_a_doctor_working_as_pharmacist_never_reviews_their_own_prescription(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    account = await session.get(Account, pharmacy.practice.doctor.account_id)
    account.role = "pharmacist"
    await session.flush()

    with pytest.raises(Forbidden) as refused:
        await decide_prescription(
            session,
            staff_actor(clock, account),
            prescription_id=prescription.id,
            decision="approve",
        )

    assert refused.value.code == "prescribing.own_prescription"
    assert (await session.get(Prescription, prescription.id)).status == "pending_review"


async def test_another_institutions_prescription_is_not_found(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    stranger = await make_staff(
        session,
        clock=clock,
        institution=(await make_pharmacy(session, clock)).practice.institution,
        role="pharmacist",
    )

    for call in (
        open_for_review(session, staff_actor(clock, stranger), prescription_id=prescription.id),
        decide_prescription(
            session,
            staff_actor(clock, stranger),
            prescription_id=prescription.id,
            decision="approve",
        ),
    ):
        with pytest.raises(NotFound):
            await call
    assert await audit_actions(session, prescription.id) == []


async def test_a_prescription_edited_after_signing_cannot_be_approved_but_can_be_rejected(
    session, clock
):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    await session.execute(
        update(PrescriptionItem)
        .where(PrescriptionItem.prescription_id == prescription.id)
        .values(dose=Decimal("10"))
    )
    actor = pharmacy.pharmacist_actor(clock)

    view = await open_for_review(session, actor, prescription_id=prescription.id)
    with pytest.raises(Unprocessable) as refused:
        await decide_prescription(
            session, actor, prescription_id=prescription.id, decision="approve"
        )
    rejected = await decide_prescription(
        session, actor, prescription_id=prescription.id, decision="reject", reasons=["N02"]
    )

    assert view.signature.reason == "content_changed"
    assert (refused.value.code, refused.value.fields["reason"]) == (
        "prescribing.signature_invalid",
        "content_changed",
    )
    assert rejected.status == "rejected"


async def test_a_forged_signature_cannot_be_approved(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    other = await prescribe(session, clock, pharmacy)
    prescription.signature = other.signature
    await session.flush()

    with pytest.raises(Unprocessable) as refused:
        await decide_prescription(
            session,
            pharmacy.pharmacist_actor(clock),
            prescription_id=prescription.id,
            decision="approve",
        )

    assert refused.value.fields["reason"] == "signature_invalid"
    assert (await session.get(Prescription, prescription.id)).status == "pending_review"
