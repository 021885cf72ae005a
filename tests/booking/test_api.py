"""The booking API over HTTP: admins schedule and stop, the public sees free slots, patients
book, list and cancel; errors are problem+json naming the field."""

from datetime import date

from ihospital.errors import PROBLEM_JSON
from tests.booking.builders import make_clinic
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

SESSION = {
    "department_code": "03.04",
    "day": "2026-11-30",
    "half_day": "morning",
    "start_time": "09:00",
    "end_time": "10:00",
    "fee_class": "expert",
    "fee_fen": 5000,
    "capacity": 6,
    "slot_minutes": 10,
}


async def test_schedule_book_list_and_cancel_over_http(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    sessions_url = f"/api/institutions/{clinic.institution.id}/sessions"
    created = await client.post(
        sessions_url, json={**SESSION, "practitioner_id": clinic.practitioner_id}, headers=admin
    )
    assert created.status_code == 201, created.text
    [schedule] = created.json()
    assert schedule["slots"][2]["label"] == "2026-11-30 09:20–09:30"

    public = await client.get(f"/api/doctors/{clinic.practitioner_id}/schedule")
    assert [s["free"] for s in public.json()] == [6]

    patient = await make_patient(session, clock=clock)
    account = await session.get(type(clinic.admin), patient.account_id)
    headers = await bearer(session, clock=clock, account=account)
    body = {"slot_id": schedule["slots"][0]["id"], "patient_id": patient.id, "idempotency_key": "k"}
    booked = await client.post("/api/appointments", json=body, headers=headers)
    assert booked.status_code == 201, booked.text
    again = await client.post("/api/appointments", json=body, headers=headers)
    assert again.json()["id"] == booked.json()["id"]
    assert booked.json()["time_label"] == "2026-11-30 09:00–09:10"
    assert booked.json()["queue_number"] == 1

    public = await client.get(f"/api/doctors/{clinic.practitioner_id}/schedule")
    assert public.json()[0]["free"] == 5
    mine = await client.get("/api/appointments", headers=headers)
    assert [a["id"] for a in mine.json()] == [booked.json()["id"]]
    cancelled = await client.post(
        f"/api/appointments/{booked.json()['id']}/cancel", headers=headers
    )
    assert cancelled.json()["status"] == "cancelled"


async def test_bad_input_gets_a_problem_naming_the_field(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    url = f"/api/institutions/{clinic.institution.id}/sessions"
    base = {**SESSION, "practitioner_id": clinic.practitioner_id}
    for changes, field in (
        ({"capacity": 0}, "capacity"),
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"end_time": "08:00"}, "end_time"),
        ({"start_time": "09:00+08:00"}, "start_time"),
    ):
        response = await client.post(url, json={**base, **changes}, headers=admin)
        assert response.status_code == 422, (changes, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["field"] == field
    malformed = await client.post(url, json={**base, "day": "2026-13-01"}, headers=admin)
    assert malformed.status_code == 422
    assert "day" in malformed.text
    await client.post(url, json=base, headers=admin)
    overlap = await client.post(url, json=base, headers=admin)
    assert overlap.status_code == 409
    assert overlap.json()["code"] == "booking.session_overlap"


async def test_not_released_is_425_with_the_release_time_in_chinese(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    created = await client.post(
        f"/api/institutions/{clinic.institution.id}/sessions",
        json={**SESSION, "day": str(date(2026, 12, 1)), "practitioner_id": clinic.practitioner_id},
        headers=admin,
    )
    assert (await client.get(f"/api/doctors/{clinic.practitioner_id}/schedule")).json() == []
    patient = await make_patient(session, clock=clock)
    account = await session.get(type(clinic.admin), patient.account_id)
    response = await client.post(
        "/api/appointments",
        json={
            "slot_id": created.json()[0]["slots"][0]["id"],
            "patient_id": patient.id,
            "idempotency_key": "early",
        },
        headers=await bearer(session, clock=clock, account=account),
    )
    assert response.status_code == 425
    assert response.json()["release_time"] == "2026-11-24 08:00"
    assert "2026-11-24 08:00 放号" in response.json()["detail"]


async def test_another_institutions_admin_is_refused(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    other = await make_clinic(session, clock=clock)
    response = await client.put(
        f"/api/institutions/{clinic.institution.id}/booking-rules",
        json={"release_days_ahead": 3},
        headers=await bearer(session, clock=clock, account=other.admin),
    )
    assert response.status_code == 403
    own = await client.put(
        f"/api/institutions/{clinic.institution.id}/booking-rules",
        json={"release_days_ahead": 3, "release_time": "07:30"},
        headers=await bearer(session, clock=clock, account=clinic.admin),
    )
    assert own.json()["release_days_ahead"] == 3 and own.json()["release_time"] == "07:30:00"
