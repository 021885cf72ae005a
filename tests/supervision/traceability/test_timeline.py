"""Case timelines over HTTP: a consultation and a prescription (every version, the review
decisions, the record's amendment) in time order, from the audit trail and the domain records;
only in the reader's region or institution; every reading audited."""

from datetime import timedelta

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.errors import PROBLEM_JSON
from ihospital.pharmacy.service import dispense_order
from tests.directory.builders import bearer, make_institution
from tests.identity.builders import make_account
from tests.pharmacy.delivery_builders import paid_order
from tests.pharmacy.order_builders import make_shop
from tests.supervision.traceability.builders import BEIJING, regulator_of, traced_case

EN = {"Accept-Language": "en"}


async def _get(client, session, clock, account, path, headers=None):
    auth = await bearer(session, clock=clock, account=account)
    return await client.get(path, headers={**auth, **(headers or {})})


async def _case(client, session, clock, traced, kind, case_id):
    response = await _get(
        client, session, clock, traced.regulator, f"/api/regulator/cases/{kind}/{case_id}"
    )
    assert response.status_code == 200, response.text
    return response


def _actions(case, source=None):
    return [e["action"] for e in case["events"] if source is None or e["source"] == source]


async def test_a_prescription_case_holds_every_version_and_review_in_time_order(
    client, session, clock
):
    traced = await traced_case(session, clock)
    case = (await _case(client, session, clock, traced, "prescription", traced.second.id)).json()
    assert (case["kind"], case["case_id"], case["reference"]) == (
        "prescription",
        traced.second.id,
        traced.second.number,
    )
    times = [e["at"] for e in case["events"]]
    assert times == sorted(times)
    records = _actions(case, "record")
    assert records.index("prescription.signed") < records.index("prescription.review_rejected")
    assert records.index("prescription.review_rejected") < records.index("prescription.revised")
    assert records.index("prescription.revised") < records.index("prescription.review_approved")
    assert "supervision.alert_opened" in records
    [rejected] = [e for e in case["events"] if e["action"] == "prescription.review_rejected"]
    assert rejected["details"] == {"rejection_codes": ["N01"], "note": "剂量需调整"}
    assert rejected["actor_account_id"] == traced.pharmacy.pharmacist.id
    assert rejected["version"] == 1
    assert [(v["version"], v["status"], v["signature_valid"]) for v in case["versions"]] == [
        (1, "rejected", True),
        (2, "approved", True),
    ]
    audited = _actions(case, "audit")
    assert audited == [
        "prescribing.prescription_signed",
        "prescribing.prescription_rejected",
        "supervision.alert_opened",
        "prescribing.prescription_signed",
        "prescribing.prescription_approved",
    ]
    entry_ids = {e["audit_entry_id"] for e in case["events"] if e["source"] == "audit"}
    assert entry_ids == {link["entry_id"] for link in case["audit_entries"]}
    assert all(link["seq"] and len(link["entry_hash"]) == 64 for link in case["audit_entries"])
    assert case["audit_chain"]["verified"] is True
    # the case of the first version is the same chain
    first = await _case(client, session, clock, traced, "prescription", traced.first.id)
    assert [v["version"] for v in first.json()["versions"]] == [1, 2]


async def test_a_consultation_case_holds_its_lifecycle_messages_and_record_amendment(
    client, session, clock
):
    traced = await traced_case(session, clock)
    response = await _case(client, session, clock, traced, "consultation", traced.consultation_id)
    case = response.json()
    records = _actions(case, "record")
    for action in (
        "consultation.started",
        "consultation.accepted",
        "consultation.messages",
        "medical_record.signed",
        "medical_record.amended",
        "prescription.signed",
    ):
        assert action in records, action
    assert records.index("medical_record.signed") < records.index("medical_record.amended")
    [amended] = [e for e in case["events"] if e["action"] == "medical_record.amended"]
    assert amended["details"]["amends"] == traced.records[0].id
    assert amended["version"] == 2
    sent = {(m["sender_role"], m["count"]) for m in case["facts"]["messages"]}
    assert {("patient", 1), ("doctor", 1)} <= sent
    assert "头晕" not in response.text  # the messages' text is not part of the case
    audited = _actions(case, "audit")
    assert "consultation.message_send" in audited


async def test_every_reading_and_export_is_audited_with_the_patient(client, session, clock):
    traced = await traced_case(session, clock)
    base = f"/api/regulator/cases/prescription/{traced.second.id}"
    for path in (base, f"{base}/case-file.json", f"{base}/case-file.pdf"):
        response = await _get(client, session, clock, traced.regulator, path)
        assert response.status_code == 200, response.text
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(("supervision.case_read", "supervision.case_exported")))
            .order_by(AuditEntry.id)
        )
    )
    assert [(e.action, e.subject_type, e.subject_id) for e in entries] == [
        ("supervision.case_read", "prescription", str(traced.second.id)),
        ("supervision.case_exported", "prescription", str(traced.second.id)),
        ("supervision.case_exported", "prescription", str(traced.second.id)),
    ]
    assert {e.patient_id for e in entries} == {traced.pharmacy.patient.id}
    assert {e.actor_account_id for e in entries} == {traced.regulator.id}
    # the earlier readings show on the next timeline
    again = await _get(client, session, clock, traced.regulator, base)
    assert _actions(again.json(), "audit").count("supervision.case_exported") == 2


async def test_another_regions_case_is_not_found_like_a_missing_one(client, session, clock):
    traced = await traced_case(session, clock)
    elsewhere = await _get(
        client,
        session,
        clock,
        traced.other_regulator,
        f"/api/regulator/cases/prescription/{traced.second.id}",
        EN,
    )
    missing = await _get(
        client, session, clock, traced.regulator, "/api/regulator/cases/prescription/999999999", EN
    )
    for response, case_id in ((elsewhere, traced.second.id), (missing, 999999999)):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert problem["code"] == "supervision.case_not_found"
        assert problem["detail"] == f"Case {case_id} (Prescription) was not found."
    gone = await _get(
        client,
        session,
        clock,
        traced.regulator,
        "/api/regulator/cases/consultation/999999999/case-file.pdf",
    )
    assert (gone.status_code, gone.json()["code"]) == (404, "supervision.case_not_found")
    for export in ("case-file.pdf", "case-file.json"):
        refused = await _get(
            client,
            session,
            clock,
            traced.other_regulator,
            f"/api/regulator/cases/consultation/{traced.consultation_id}/{export}",
        )
        assert refused.status_code == 404
        assert refused.json()["detail"] == f"未找到病例 {traced.consultation_id}（问诊）。"
    nothing = await session.scalar(
        select(AuditEntry.id).where(AuditEntry.action.like("supervision.case_%"))
    )
    assert nothing is None  # a refused reading writes no reading


async def test_an_unknown_kind_is_named_with_the_kinds_there_are(client, session, clock):
    traced = await traced_case(session, clock)
    response = await _get(
        client, session, clock, traced.regulator, "/api/regulator/cases/nursing/1", EN
    )
    assert response.status_code == 404
    problem = response.json()
    assert problem["code"] == "supervision.case_kind_unknown"
    assert problem["detail"] == (
        "There is no kind of case called nursing; choose one of consultation, prescription."
    )


async def test_an_institution_admin_reads_only_their_own_institutions_cases(client, session, clock):
    traced = await traced_case(session, clock)
    path = f"/api/regulator/cases/consultation/{traced.consultation_id}"
    own = await _get(client, session, clock, traced.pharmacy.practice.admin, path)
    assert own.status_code == 200, own.text
    elsewhere = await make_institution(session, clock=clock)
    other = await make_account(
        session, role="institution_admin", institution_id=elsewhere.id, clock=clock
    )
    refused = await _get(client, session, clock, other, path)
    assert refused.status_code == 404
    doctor = await _get(client, session, clock, traced.pharmacy.pharmacist, path)
    assert doctor.status_code == 403


async def test_a_prescription_case_follows_the_drugs_through_the_pharmacy(client, session, clock):
    shop = await make_shop(session, clock=clock)
    clock.advance(timedelta(minutes=1))
    order = await paid_order(session, clock, shop)
    clock.advance(timedelta(minutes=1))
    await dispense_order(session, shop.dispenser(clock), order_id=order.id)
    regulator = await regulator_of(session, clock, BEIJING)
    response = await _get(
        client,
        session,
        clock,
        regulator,
        f"/api/regulator/cases/prescription/{shop.prescription.id}",
    )
    assert response.status_code == 200, response.text
    case = response.json()
    records = _actions(case, "record")
    steps = ["pharmacy.order_created", "pharmacy.order_paid", "pharmacy.order_dispensed"]
    assert [action for action in records if action in steps] == steps
    assert "billing.order_created" in records
    [dispensed] = [e for e in case["events"] if e["action"] == "pharmacy.order_dispensed"]
    assert dispensed["actor_account_id"] == shop.pharmacist.id
    assert dispensed["actor_name"] == shop.pharmacist.display_name
    assert dispensed["details"]["number"] == order.number
    audited = [e for e in case["events"] if e["source"] == "audit"]
    assert f"pharmacy_order:{order.id}" in {e["subject"] for e in audited}
