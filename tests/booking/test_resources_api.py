"""The vaccination and check-up API over HTTP: admins add resources and schedule windows, the
public sees offers and free places, patients book through ``/api/appointments`` and see the
resource on the appointment; refusals are problem+json naming the field or the limit, in zh-CN
and English, and change nothing."""

from sqlalchemy import func, select

from ihospital.booking.models import Appointment, BookingResource, ScheduleSession
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_resource, make_resource_session, make_session
from tests.booking.test_resources import DAY
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

CHECKUP = {
    "kind": "checkup",
    "name": "入职体检套餐",
    "department_code": "03",
    "package_items": "血常规、尿常规、肝功能、胸部X线",
    "fee_fen": 19900,
    "min_age_years": 18,
    "preparation": "体检需空腹",
}
WINDOWS = {
    "day": DAY.isoformat(),
    "half_day": "morning",
    "start_time": "08:00",
    "end_time": "11:30",
    "slot_minutes": 30,
    "places_per_slot": 20,
}


async def _patient_headers(session, clock, **changes):
    patient = await make_patient(session, clock=clock, **changes)
    account = await session.get(Account, patient.account_id)
    return patient, await bearer(session, clock=clock, account=account)


async def test_add_schedule_list_and_book_a_check_up_over_http(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    base = f"/api/institutions/{clinic.institution.id}/booking-resources"
    created = await client.post(base, json=CHECKUP, headers=admin)
    assert created.status_code == 201, created.text
    resource = created.json()
    assert (resource["kind"], resource["sex"], resource["is_active"]) == ("checkup", None, True)

    scheduled = await client.post(f"{base}/{resource['id']}/sessions", json=WINDOWS, headers=admin)
    assert scheduled.status_code == 201, scheduled.text
    [schedule] = scheduled.json()
    assert (schedule["resource_id"], schedule["practitioner_id"]) == (resource["id"], None)
    assert [slot["capacity"] for slot in schedule["slots"]] == [20] * 7
    assert schedule["slots"][1]["label"] == "2026-11-30 08:30–09:00"

    offers = await client.get(f"/api/institutions/{clinic.institution.id}/services?kind=checkup")
    assert [offer["id"] for offer in offers.json()] == [resource["id"]]
    none = await client.get(f"/api/institutions/{clinic.institution.id}/services?kind=vaccination")
    assert none.json() == []
    calendar = await client.get(f"/api/services/{resource['id']}/schedule")
    assert calendar.json()["resource"]["name"] == "入职体检套餐"
    assert calendar.json()["sessions"][0]["free"] == 140

    patient, headers = await _patient_headers(session, clock)
    body = {"slot_id": schedule["slots"][1]["id"], "patient_id": patient.id, "idempotency_key": "k"}
    booked = await client.post("/api/appointments", json=body, headers=headers)
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "pending_payment" and booked.json()["order_id"]
    [mine] = (await client.get("/api/appointments", headers=headers)).json()
    assert (mine["resource_id"], mine["resource_name"], mine["preparation"]) == (
        resource["id"],
        "入职体检套餐",
        "体检需空腹",
    )
    assert mine["practitioner_id"] is None
    calendar = await client.get(f"/api/services/{resource['id']}/schedule")
    assert calendar.json()["sessions"][0]["slots"][1]["free"] == 19

    withdrawn = await client.patch(
        f"{base}/{resource['id']}", json={"is_active": False}, headers=admin
    )
    assert withdrawn.json()["is_active"] is False
    assert (await client.get(f"/api/services/{resource['id']}/schedule")).status_code == 404
    listed = await client.get(base, headers=admin)
    assert [item["is_active"] for item in listed.json()] == [False]


async def test_an_ineligible_patient_gets_a_problem_naming_the_limit(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    patient, headers = await _patient_headers(session, clock, age=50)
    body = {"slot_id": view.slots[0].id, "patient_id": patient.id, "idempotency_key": "k"}
    refused = await client.post("/api/appointments", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    problem = refused.json()
    assert problem["code"] == "booking.age_not_eligible"
    assert (problem["min_age"], problem["max_age"], problem["field"]) == (9, 45, "patient_id")
    assert problem["detail"] == "该项目仅适用于 9–45 周岁人群。"
    english = await client.post(
        "/api/appointments", json=body, headers={**headers, "Accept-Language": "en"}
    )
    assert english.json()["detail"] == "This service is for people aged 9 to 45."
    assert await session.scalar(select(func.count(Appointment.id))) == 0


async def test_bad_input_is_refused_and_changes_nothing(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    base = f"/api/institutions/{clinic.institution.id}/booking-resources"
    for body, field in (
        ({**CHECKUP, "package_items": ""}, "package_items"),
        ({**CHECKUP, "kind": "vaccination"}, "vaccine"),
        ({**CHECKUP, "min_age_years": 50, "max_age_years": 40}, "max_age_years"),
        ({**CHECKUP, "department_code": "10"}, "department_code"),
        ({**CHECKUP, "sex": "other"}, "sex"),
        ({**CHECKUP, "name": "<b>体检</b>"}, "name"),
        ({**CHECKUP, "fee_fen": -1}, "fee_fen"),
    ):
        refused = await client.post(base, json=body, headers=admin)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert field in refused.text, (field, refused.text)
    assert await session.scalar(select(func.count(BookingResource.id))) == 0

    resource = await make_resource(session, clinic, clock=clock)
    for body, field in (
        ({**WINDOWS, "places_per_slot": 0}, "places_per_slot"),
        ({**WINDOWS, "slot_minutes": 45}, "slot_minutes"),
        ({**WINDOWS, "day": "2026-11-01"}, "day"),
    ):
        refused = await client.post(
            f"{base}/{resource.id}/sessions",
            json=body,
            headers={**admin, "Accept-Language": "en"},
        )
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["field"] == field
    assert await session.scalar(select(func.count(ScheduleSession.id))) == 0


async def test_admins_manage_only_their_own_institutions_resources(client, session, clock):
    ours, theirs = await make_clinic(session, clock=clock), await make_clinic(session, clock=clock)
    resource = await make_resource(session, theirs, clock=clock)
    admin = await bearer(session, clock=clock, account=ours.admin)
    other_institution = f"/api/institutions/{theirs.institution.id}/booking-resources"
    assert (await client.get(other_institution, headers=admin)).status_code == 403
    assert (
        await client.post(
            f"{other_institution}/{resource.id}/sessions", json=WINDOWS, headers=admin
        )
    ).status_code == 403
    own = f"/api/institutions/{ours.institution.id}/booking-resources/{resource.id}"
    assert (await client.patch(own, json={"name": "改"}, headers=admin)).status_code == 404
    assert (await client.post(f"{own}/sessions", json=WINDOWS, headers=admin)).status_code == 404
    assert (await session.get(BookingResource, resource.id)).name == "HPV疫苗接种"


async def test_the_new_endpoints_are_in_the_openapi_schema(client):
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    assert "post" in paths["/api/institutions/{institution_id}/booking-resources"]
    assert "patch" in paths["/api/institutions/{institution_id}/booking-resources/{resource_id}"]
    assert "get" in paths["/api/services/{resource_id}/schedule"]
    assert {"ResourceCreate", "ResourceRead", "ResourceSessionCreate", "OfferRead"} <= set(
        schema["components"]["schemas"]
    )


async def test_an_admin_lists_one_services_sessions(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    windows = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    doctor = await make_session(session, clinic, clock=clock, day=DAY)
    admin = await bearer(session, clock=clock, account=clinic.admin)
    url = f"/api/institutions/{clinic.institution.id}/sessions"
    every = await client.get(url, headers=admin)
    assert {row["id"] for row in every.json()} == {windows.session.id, doctor.session.id}
    only = await client.get(url, params={"resource_id": resource.id}, headers=admin)
    assert [(row["id"], row["resource_id"]) for row in only.json()] == [
        (windows.session.id, resource.id)
    ]
    doctors = await client.get(
        url, params={"practitioner_id": clinic.practitioner_id}, headers=admin
    )
    assert [row["id"] for row in doctors.json()] == [doctor.session.id]
    invalid = await client.get(url, params={"resource_id": 0}, headers=admin)
    assert invalid.status_code == 422 and invalid.headers["content-type"].startswith(PROBLEM_JSON)
