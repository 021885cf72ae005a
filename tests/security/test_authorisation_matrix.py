"""Every route of the app against every role, with the expectation taken from the one permission
table (``GRANTS``).

``ROUTES`` declares, for each method and path the app serves, the permission it needs (``PUBLIC``
when none) and what to send. A route the table does not declare fails the suite, as does a route
whose ``require(...)`` differs from its declaration, so no endpoint can skip the matrix. Roles whose
grants hold the permission must get past authorisation (any answer but 401/403, and never a 500);
the others get 401 when anonymous and 403 otherwise — as problem+json from the API; a browser
asking for a page is sent to the login page instead of the 401 and gets an HTML error page with the
403. API calls carry bearer tokens, page calls the session cookie, the CSRF token and a browser's
``Accept``; path ids name objects that belong to the caller. A WebSocket (method ``WS``) is opened
with the bearer token: allowed roles get the ``ready`` frame, the others an error frame and the
close code 4401 when anonymous, 4403 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from httpx_ws import WebSocketDisconnect

from ihospital.errors import PROBLEM_JSON
from ihospital.realtime.socket import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from ihospital.security.permissions import GRANTS, Permission, Role
from tests.billing.insurance.builders import new_insurance_number
from tests.identity.builders import make_id_number, new_mobile
from tests.realtime.support import open_socket, receive
from tests.security.routes import permission_of, served_routes
from tests.security.world import ANONYMOUS, World, build_world, client_for

PUBLIC = None
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CALLERS = (ANONYMOUS, *Role)
P = Permission


@dataclass(frozen=True)
class Call:
    """What a route needs and what the matrix sends to it."""

    permission: Permission | None
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None


def _patient_body() -> dict[str, Any]:
    return {"name": "王小明", "relationship": "child", "id_number": make_id_number()}


def _sms_body() -> dict[str, Any]:
    return {"mobile": new_mobile(), "purpose": "signup"}


def _coverage_body() -> dict[str, str]:
    return {
        "insurance_type": "resident",
        "region_code": "420102",
        "insurance_number": new_insurance_number(),
        "valid_from": "2026-01-01",
    }


ROUTES: dict[tuple[str, str], Call] = {
    # framework and operations
    ("GET", "/openapi.json"): Call(PUBLIC),
    ("GET", "/docs"): Call(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Call(PUBLIC),
    ("GET", "/redoc"): Call(PUBLIC),
    ("GET", "/static/{path}"): Call(PUBLIC),
    ("GET", "/healthz"): Call(PUBLIC),
    ("GET", "/readyz"): Call(PUBLIC),
    ("GET", "/metrics"): Call(PUBLIC),
    # identity API
    ("POST", "/api/auth/sms-codes"): Call(PUBLIC, json=_sms_body()),
    ("POST", "/api/auth/signup"): Call(PUBLIC, json={}),
    ("POST", "/api/auth/token"): Call(PUBLIC, json={}),
    ("POST", "/api/auth/logout"): Call(P.ACCOUNT_SELF),
    ("GET", "/api/me"): Call(P.ACCOUNT_SELF),
    ("PATCH", "/api/me"): Call(P.ACCOUNT_SELF, json={"elder_mode": True}),
    ("GET", "/api/patients"): Call(P.PATIENTS_OWN),
    ("POST", "/api/patients"): Call(P.PATIENTS_OWN, json=_patient_body()),
    ("GET", "/api/patients/{patient_id}"): Call(P.PATIENTS_OWN),
    ("PATCH", "/api/patients/{patient_id}"): Call(P.PATIENTS_OWN, json={"mobile": "13912345678"}),
    ("DELETE", "/api/patients/{patient_id}"): Call(P.PATIENTS_OWN),
    ("POST", "/api/patients/{patient_id}/realname-verification"): Call(P.PATIENTS_OWN),
    # medical insurance API
    ("GET", "/api/insurance/regions"): Call(PUBLIC),
    ("GET", "/api/patients/{patient_id}/coverage"): Call(P.PATIENTS_OWN),
    ("POST", "/api/patients/{patient_id}/coverage"): Call(P.PATIENTS_OWN, json=_coverage_body()),
    ("PATCH", "/api/patients/{patient_id}/coverage"): Call(
        P.PATIENTS_OWN, json={"valid_to": "2026-12-31"}
    ),
    ("DELETE", "/api/patients/{patient_id}/coverage"): Call(P.PATIENTS_OWN),
    # directory API
    ("GET", "/api/departments"): Call(PUBLIC),
    ("GET", "/api/institutions"): Call(PUBLIC),
    ("POST", "/api/institutions"): Call(P.INSTITUTION_CREATE, json={}),
    ("GET", "/api/institutions/{institution_id}"): Call(PUBLIC),
    ("PATCH", "/api/institutions/{institution_id}"): Call(
        P.INSTITUTION_MANAGE, json={"phone": "010-85231001"}
    ),
    ("PUT", "/api/institutions/{institution_id}/departments/{department_code}"): Call(
        P.INSTITUTION_MANAGE, json={"local_name": "心内科", "offers_online": True}
    ),
    ("DELETE", "/api/institutions/{institution_id}/departments/{department_code}"): Call(
        P.INSTITUTION_MANAGE
    ),
    ("POST", "/api/institutions/{institution_id}/practitioners"): Call(P.STAFF_MANAGE, json={}),
    ("GET", "/api/institutions/{institution_id}/practitioners"): Call(P.STAFF_MANAGE),
    ("GET", "/api/practitioners/me"): Call(P.PRACTITIONER_SELF),
    ("PATCH", "/api/practitioners/me"): Call(P.PRACTITIONER_SELF, json={"specialties": "高血压"}),
    ("POST", "/api/practitioners/me/submission"): Call(P.PRACTITIONER_SELF),
    ("GET", "/api/practitioners/{practitioner_id}"): Call(P.STAFF_MANAGE),
    ("PATCH", "/api/practitioners/{practitioner_id}"): Call(
        P.STAFF_MANAGE, json={"specialties": "高血压"}
    ),
    ("PUT", "/api/practitioners/{practitioner_id}/sites"): Call(
        P.STAFF_MANAGE, json={"department_code": "03.04", "practice_sites": []}
    ),
    ("POST", "/api/practitioners/{practitioner_id}/submission"): Call(P.STAFF_MANAGE),
    ("POST", "/api/practitioners/{practitioner_id}/reviews"): Call(
        P.STAFF_MANAGE, json={"decision": "suspend", "note": "暂停"}
    ),
    ("GET", "/api/practitioners/{practitioner_id}/reviews"): Call(P.STAFF_MANAGE),
    ("GET", "/api/doctors"): Call(PUBLIC),
    ("GET", "/api/doctors/{practitioner_id}"): Call(PUBLIC),
    # inbox, audit, operations API
    ("GET", "/api/inbox"): Call(P.ACCOUNT_SELF),
    ("POST", "/api/inbox/read-all"): Call(P.ACCOUNT_SELF),
    ("POST", "/api/inbox/{message_id}/read"): Call(P.ACCOUNT_SELF),
    ("GET", "/api/audit/entries"): Call(P.AUDIT_READ),
    ("GET", "/api/audit/verify"): Call(P.AUDIT_READ),
    ("GET", "/api/admin/outbox"): Call(P.OUTBOX_READ),
    # reporting feed to the provincial supervision platform
    ("GET", "/api/regulator/reporting-feed"): Call(P.REPORTING_FEED),
    ("POST", "/api/regulator/reporting-feed/records/{record_id}/requeue"): Call(P.REPORTING_FEED),
    ("GET", "/regulator/reporting-feed"): Call(P.REPORTING_FEED),
    # case timelines and case files (traceability)
    ("GET", "/api/regulator/cases/{kind}/{case_id}"): Call(P.CASES_TRACE),
    ("GET", "/api/regulator/cases/{kind}/{case_id}/case-file.json"): Call(P.CASES_TRACE),
    ("GET", "/api/regulator/cases/{kind}/{case_id}/case-file.pdf"): Call(P.CASES_TRACE),
    ("GET", "/regulator/cases"): Call(P.CASES_TRACE),
    ("GET", "/regulator/cases/{kind}/{case_id}"): Call(P.CASES_TRACE),
    ("POST", "/regulator/reporting-feed/records/{record_id}/requeue"): Call(
        P.REPORTING_FEED, form={}
    ),
    # billing API
    ("POST", "/api/billing/orders"): Call(P.BILLING_MANAGE, json={}),
    ("GET", "/api/billing/orders"): Call(P.BILLS_OWN),
    ("GET", "/api/billing/orders/{order_id}"): Call(P.BILLS_OWN),
    ("GET", "/api/billing/institution/orders/{order_id}"): Call(P.BILLING_MANAGE),
    ("POST", "/api/billing/orders/{order_id}/payments"): Call(
        P.BILLS_OWN, json={"idempotency_key": "matrix"}
    ),
    ("POST", "/api/billing/orders/{order_id}/cancel"): Call(P.BILLS_OWN),
    ("POST", "/api/billing/orders/{order_id}/checkout/preview"): Call(
        P.BILLS_OWN, json={"use_insurance": False}
    ),
    ("POST", "/api/billing/orders/{order_id}/checkout"): Call(
        P.BILLS_OWN, json={"use_insurance": False, "idempotency_key": "matrix"}
    ),
    ("POST", "/api/billing/orders/{order_id}/refunds"): Call(
        P.BILLING_MANAGE, json={"amount": "1.00", "idempotency_key": "matrix"}
    ),
    ("GET", "/api/billing/receipts/verify"): Call(PUBLIC),
    ("POST", "/api/billing/notify/{channel}"): Call(PUBLIC, json={}),
    # finance API
    ("GET", "/api/billing/finance/totals"): Call(P.BILLING_MANAGE),
    ("GET", "/api/billing/finance/reconciliations"): Call(P.BILLING_MANAGE),
    ("POST", "/api/billing/finance/reconciliations"): Call(
        P.BILLING_MANAGE, json={"day": "2026-11-22", "channel": "sandbox"}
    ),
    ("GET", "/api/billing/finance/reconciliations/{run_id}"): Call(P.BILLING_MANAGE),
    # consultation API
    ("POST", "/api/consultations"): Call(P.CONSULTATIONS_OWN, json={}),
    ("GET", "/api/consultations"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/api/consultations/{consultation_id}"): Call(P.CONSULTATIONS_OWN),
    ("POST", "/api/consultations/{consultation_id}/cancel"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/api/consultations/{consultation_id}/messages"): Call(P.CONSULTATIONS_OWN),
    ("POST", "/api/consultations/{consultation_id}/messages"): Call(
        P.CONSULTATIONS_OWN, json={"text": "您好"}
    ),
    ("POST", "/api/consultations/{consultation_id}/messages/read"): Call(
        P.CONSULTATIONS_OWN, json={"up_to": 1}
    ),
    ("GET", "/api/consultations/{consultation_id}/calls"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/api/doctor/consultations/{consultation_id}/calls"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/doctor/consultations/{consultation_id}/messages"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/consultations/{consultation_id}/messages"): Call(
        P.CONSULTATIONS_ATTEND, json={"text": "您好"}
    ),
    ("POST", "/api/doctor/consultations/{consultation_id}/messages/read"): Call(
        P.CONSULTATIONS_ATTEND, json={"up_to": 1}
    ),
    ("POST", "/api/consultations/{consultation_id}/guardian"): Call(
        P.CONSULTATIONS_OWN,
        json={"guardian_name": "王大明", "relationship": "parent", "id_number": make_id_number()},
    ),
    ("GET", "/api/doctor/consultations"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/doctor/statistics/response-times"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/doctor/consultations/{consultation_id}"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/consultations/{consultation_id}/accept"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/consultations/{consultation_id}/prior-diagnosis/confirm"): Call(
        P.CONSULTATIONS_ATTEND
    ),
    ("POST", "/api/doctor/consultations/{consultation_id}/transfer"): Call(
        P.CONSULTATIONS_ATTEND, json={"practitioner_id": 1}
    ),
    ("POST", "/api/doctor/consultations/{consultation_id}/accompanying-doctor"): Call(
        P.CONSULTATIONS_ATTEND, json={"practitioner_id": 1}
    ),
    ("POST", "/api/doctor/consultations/{consultation_id}/close"): Call(
        P.CONSULTATIONS_ATTEND, json={"advice": "多休息"}
    ),
    ("POST", "/api/doctor/work-session"): Call(P.CONSULTATIONS_ATTEND, json={"password": "x"}),
    ("GET", "/api/doctor/work-session"): Call(P.CONSULTATIONS_ATTEND),
    ("DELETE", "/api/doctor/work-session"): Call(P.CONSULTATIONS_ATTEND),
    # medical records API
    ("GET", "/api/icd10"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/consultations/{consultation_id}/record"): Call(
        P.CONSULTATIONS_ATTEND, json={}
    ),
    ("GET", "/api/consultations/{consultation_id}/records"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/api/doctor/consultations/{consultation_id}/records"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/doctor/consultations/{consultation_id}/history"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/records/{record_id}/verify"): Call(P.ACCOUNT_SELF),
    # prescribing: the doctor writes and signs
    ("POST", "/api/doctor/prescriptions/check"): Call(P.CONSULTATIONS_ATTEND, json={}),
    ("POST", "/api/doctor/prescriptions"): Call(P.CONSULTATIONS_ATTEND, json={}),
    ("POST", "/api/doctor/prescriptions/{prescription_id}/revisions"): Call(
        P.CONSULTATIONS_ATTEND, json={}
    ),
    ("POST", "/api/doctor/prescriptions/{prescription_id}/void"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/api/doctor/consultations/{consultation_id}/allergies"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/consultations/{consultation_id}/allergies"): Call(
        P.CONSULTATIONS_ATTEND, json={}
    ),
    ("GET", "/doctor/consultations/{consultation_id}/prescription"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/doctor/consultations/{consultation_id}/prescription"): Call(
        P.CONSULTATIONS_ATTEND, form={"action": "check"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/prescription/check"): Call(
        P.CONSULTATIONS_ATTEND, form={}
    ),
    ("GET", "/doctor/prescribing/drugs"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/doctor/appointments/{appointment_id}/prescription"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/doctor/appointments/{appointment_id}/prescription"): Call(
        P.CONSULTATIONS_ATTEND, form={"action": "check"}
    ),
    ("POST", "/doctor/appointments/{appointment_id}/prescription/check"): Call(
        P.CONSULTATIONS_ATTEND, form={}
    ),
    # consultation reviews API
    ("POST", "/api/consultations/{consultation_id}/review"): Call(
        P.CONSULTATIONS_OWN, json={"stars": 5}
    ),
    ("GET", "/api/consultations/{consultation_id}/review"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/api/doctor/reviews"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/api/doctor/reviews/{review_id}/reply"): Call(
        P.CONSULTATIONS_ATTEND, json={"reply": "谢谢"}
    ),
    ("GET", "/api/institutions/{institution_id}/held-reviews"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/api/reviews/{review_id}/moderation"): Call(
        P.INSTITUTION_MANAGE, json={"decision": "approve"}
    ),
    ("GET", "/api/doctors/{practitioner_id}/reviews"): Call(PUBLIC),
    ("GET", "/api/doctor/consultation-prices"): Call(P.PRACTITIONER_SELF),
    ("PUT", "/api/doctor/consultation-prices"): Call(
        P.PRACTITIONER_SELF, json={"institution_id": 1, "consultation_type": "text", "fee_fen": 0}
    ),
    (
        "GET",
        "/api/institutions/{institution_id}/practitioners/{practitioner_id}/consultation-prices",
    ): Call(P.STAFF_MANAGE),
    (
        "PUT",
        "/api/institutions/{institution_id}/practitioners/{practitioner_id}/consultation-prices",
    ): Call(P.STAFF_MANAGE, json={"consultation_type": "text", "fee_fen": 1000}),
    ("GET", "/api/doctors/{practitioner_id}/consultation-prices"): Call(PUBLIC),
    # 义诊 campaigns API
    ("GET", "/api/campaigns"): Call(PUBLIC),
    ("GET", "/api/institutions/{institution_id}/campaigns"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/api/institutions/{institution_id}/campaigns"): Call(P.SCHEDULES_MANAGE, json={}),
    ("GET", "/api/institutions/{institution_id}/campaigns/{campaign_id}"): Call(P.SCHEDULES_MANAGE),
    ("PUT", "/api/institutions/{institution_id}/campaigns/{campaign_id}"): Call(
        P.SCHEDULES_MANAGE, json={}
    ),
    ("POST", "/api/institutions/{institution_id}/campaigns/{campaign_id}/end"): Call(
        P.SCHEDULES_MANAGE
    ),
    # booking API
    ("GET", "/api/institutions/{institution_id}/booking-rules"): Call(P.SCHEDULES_MANAGE),
    ("PUT", "/api/institutions/{institution_id}/booking-rules"): Call(
        P.SCHEDULES_MANAGE, json={"release_days_ahead": 7}
    ),
    ("POST", "/api/institutions/{institution_id}/sessions"): Call(P.SCHEDULES_MANAGE, json={}),
    ("GET", "/api/institutions/{institution_id}/sessions"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/api/institutions/{institution_id}/sessions/{session_id}/stop"): Call(
        P.SCHEDULES_MANAGE
    ),
    ("GET", "/api/doctors/{practitioner_id}/schedule"): Call(PUBLIC),
    ("POST", "/api/appointments"): Call(P.APPOINTMENTS_OWN, json={}),
    ("GET", "/api/appointments"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/api/appointments/{appointment_id}/cancel"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/api/appointments/{appointment_id}/reschedule"): Call(
        P.APPOINTMENTS_OWN, json={"slot_id": 1, "idempotency_key": "matrix"}
    ),
    ("POST", "/api/waitlist"): Call(P.APPOINTMENTS_OWN, json={}),
    ("GET", "/api/waitlist"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/api/waitlist/{entry_id}/leave"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/api/appointments/{appointment_id}/check-in"): Call(P.APPOINTMENTS_OWN),
    ("GET", "/api/doctor/day"): Call(P.APPOINTMENTS_ATTEND),
    ("POST", "/api/doctor/appointments/{appointment_id}/attendance"): Call(
        P.APPOINTMENTS_ATTEND, json={"outcome": "attended"}
    ),
    ("GET", "/api/institutions/{institution_id}/service-day"): Call(P.SERVICES_ATTEND),
    (
        "POST",
        "/api/institutions/{institution_id}/service-day/appointments/{appointment_id}/attendance",
    ): Call(P.SERVICES_ATTEND, json={"outcome": "attended"}),
    ("GET", "/api/institutions/{institution_id}/no-shows"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/api/institutions/{institution_id}/booking-suspensions/{suspension_id}/lift"): Call(
        P.SCHEDULES_MANAGE, json={"reason": "核实为系统故障"}
    ),
    ("GET", "/api/doctor/sessions"): Call(P.SCHEDULE_OWN),
    ("POST", "/api/doctor/sessions"): Call(P.SCHEDULE_OWN, json={}),
    ("POST", "/api/doctor/sessions/{session_id}/stop"): Call(P.SCHEDULE_OWN),
    ("POST", "/api/institutions/{institution_id}/booking-resources"): Call(
        P.SCHEDULES_MANAGE, json={}
    ),
    ("GET", "/api/institutions/{institution_id}/booking-resources"): Call(P.SCHEDULES_MANAGE),
    ("PATCH", "/api/institutions/{institution_id}/booking-resources/{resource_id}"): Call(
        P.SCHEDULES_MANAGE, json={"name": "流感疫苗接种"}
    ),
    ("POST", "/api/institutions/{institution_id}/booking-resources/{resource_id}/sessions"): Call(
        P.SCHEDULES_MANAGE, json={}
    ),
    ("GET", "/api/institutions/{institution_id}/services"): Call(PUBLIC),
    ("GET", "/api/services/{resource_id}/schedule"): Call(PUBLIC),
    ("GET", "/api/institutions/{institution_id}/booking-flags"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/api/institutions/{institution_id}/booking-flags/{flag_id}/review"): Call(
        P.SCHEDULES_MANAGE, json={"outcome": "legitimate"}
    ),
    # files API (uploads; readers are checked against the file by the service)
    ("POST", "/api/files"): Call(P.FILES_UPLOAD, json={}),
    ("GET", "/api/files/{file_id}"): Call(P.ACCOUNT_SELF),
    ("GET", "/api/files/{file_id}/content"): Call(P.ACCOUNT_SELF),
    # pharmacy deliveries API
    ("POST", "/api/pharmacy/carriers/{carrier}/callbacks"): Call(PUBLIC, json={}),
    ("GET", "/api/pharmacy/shipments/{shipment_id}"): Call(P.SHIPMENTS_TRACK),
    ("POST", "/api/pharmacy/shipments/{shipment_id}/excursion-decision"): Call(
        P.SHIPMENTS_TRACK, json={}
    ),
    # pharmacist review (审方) and the patient's prescriptions API
    ("GET", "/api/pharmacist/prescriptions"): Call(P.PRESCRIPTIONS_REVIEW),
    ("GET", "/api/pharmacist/prescriptions/{prescription_id}"): Call(P.PRESCRIPTIONS_REVIEW),
    ("POST", "/api/pharmacist/prescriptions/{prescription_id}/decision"): Call(
        P.PRESCRIPTIONS_REVIEW, json={"decision": "approve"}
    ),
    ("GET", "/api/prescription-review-reasons"): Call(P.PRESCRIPTIONS_REVIEW),
    ("GET", "/api/pharmacist/review-statistics"): Call(P.PRESCRIPTIONS_REVIEW),
    ("GET", "/api/institutions/{institution_id}/prescription-review-statistics"): Call(
        P.INSTITUTION_MANAGE
    ),
    ("GET", "/api/prescriptions"): Call(P.PRESCRIPTIONS_OWN),
    ("GET", "/api/prescriptions/{prescription_id}"): Call(P.PRESCRIPTIONS_OWN),
    # prescription verification and the printed prescription
    ("GET", "/api/prescription-verification"): Call(PUBLIC),
    ("GET", "/api/prescriptions/{prescription_id}/verification"): Call(P.ACCOUNT_SELF),
    ("GET", "/api/prescriptions/{prescription_id}/pdf"): Call(P.ACCOUNT_SELF),
    ("GET", "/verify/prescription"): Call(PUBLIC),
    # drug catalogue API (never patients: R08)
    ("GET", "/api/drugs"): Call(P.DRUGS_READ),
    ("GET", "/api/drugs/{drug_id}"): Call(P.DRUGS_READ),
    ("POST", "/api/admin/drugs/import"): Call(P.DRUGS_MANAGE, json={}),
    ("PATCH", "/api/admin/drugs/{drug_id}"): Call(P.DRUGS_MANAGE, json={"active": False}),
    # drug catalogue page
    ("GET", "/admin/drugs"): Call(P.DRUGS_MANAGE),
    ("POST", "/admin/drugs/import"): Call(P.DRUGS_MANAGE, form={}),
    ("POST", "/admin/drugs/{drug_id}/active"): Call(P.DRUGS_MANAGE, form={"active": "false"}),
    # smart triage (智能导诊): API and the symptom box, for anyone
    ("POST", "/api/v1/triage"): Call(PUBLIC, json={"text": "头疼三天"}),
    ("GET", "/api/v1/triage/suggestions"): Call(PUBLIC),
    ("GET", "/triage"): Call(PUBLIC),
    ("POST", "/triage"): Call(PUBLIC, form={"text": "头疼三天"}),
    # pages shared by every role
    ("GET", "/"): Call(PUBLIC),
    ("POST", "/language"): Call(PUBLIC, form={"language": "en", "next": "/"}),
    ("POST", "/elder-mode"): Call(PUBLIC, form={"elder_mode": "1", "next": "/"}),
    # sign-up and login pages
    ("GET", "/signup"): Call(PUBLIC),
    ("POST", "/signup/code"): Call(PUBLIC, form={"mobile": "1380"}),
    ("POST", "/signup"): Call(PUBLIC, form={}),
    ("GET", "/login"): Call(PUBLIC),
    ("POST", "/login"): Call(PUBLIC, form={}),
    ("POST", "/login/code"): Call(PUBLIC, form={"mobile": "1380"}),
    ("POST", "/logout"): Call(PUBLIC, form={}),
    # 就诊人 pages
    ("GET", "/patients"): Call(P.PATIENTS_OWN),
    ("GET", "/patients/new"): Call(P.PATIENTS_OWN),
    ("POST", "/patients/new"): Call(P.PATIENTS_OWN, form={"name": "王小明"}),
    ("GET", "/patients/{patient_id}"): Call(P.PATIENTS_OWN),
    ("POST", "/patients/{patient_id}"): Call(
        P.PATIENTS_OWN, form={"name": "张三", "relationship": "self", "mobile": ""}
    ),
    ("POST", "/patients/{patient_id}/realname-verification"): Call(P.PATIENTS_OWN, form={}),
    ("POST", "/patients/{patient_id}/remove"): Call(P.PATIENTS_OWN, form={}),
    # 就诊人 medical insurance pages
    ("GET", "/patients/{patient_id}/coverage"): Call(P.PATIENTS_OWN),
    ("POST", "/patients/{patient_id}/coverage/new"): Call(P.PATIENTS_OWN, form=_coverage_body()),
    ("POST", "/patients/{patient_id}/coverage"): Call(
        P.PATIENTS_OWN, form={"valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    ),
    ("POST", "/patients/{patient_id}/coverage/end"): Call(P.PATIENTS_OWN, form={}),
    # institution admin pages
    ("GET", "/admin/doctors"): Call(P.STAFF_MANAGE),
    ("POST", "/admin/doctors"): Call(P.STAFF_MANAGE, form={"name": "李医生"}),
    ("POST", "/admin/doctors/{practitioner_id}/submission"): Call(P.STAFF_MANAGE, form={}),
    ("POST", "/admin/doctors/{practitioner_id}/review"): Call(
        P.STAFF_MANAGE, form={"decision": "suspend", "note": "暂停"}
    ),
    ("GET", "/admin/institution"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/institution"): Call(P.INSTITUTION_MANAGE, form={"name": "测"}),
    ("POST", "/admin/institution/new"): Call(P.INSTITUTION_CREATE, form={"name": "测"}),
    ("POST", "/admin/institution/departments"): Call(
        P.INSTITUTION_MANAGE, form={"department_code": "07", "local_name": "儿科"}
    ),
    ("POST", "/admin/institution/departments/{department_code}/remove"): Call(
        P.INSTITUTION_MANAGE, form={}
    ),
    # doctor's own profile pages
    ("GET", "/doctor/profile"): Call(P.PRACTITIONER_SELF),
    ("POST", "/doctor/profile"): Call(P.PRACTITIONER_SELF, form={"specialties": "高血压"}),
    ("POST", "/doctor/profile/submission"): Call(P.PRACTITIONER_SELF, form={}),
    # public directory pages
    ("GET", "/doctors"): Call(PUBLIC),
    ("GET", "/doctors/{practitioner_id}"): Call(PUBLIC),
    ("GET", "/institutions/{institution_id}"): Call(PUBLIC),
    # billing pages
    ("GET", "/bills"): Call(P.BILLS_OWN),
    ("GET", "/bills/{order_id}"): Call(P.BILLS_OWN),
    ("POST", "/bills/{order_id}/pay"): Call(
        P.BILLS_OWN, form={"channel": "sandbox", "idempotency_key": "matrix"}
    ),
    ("POST", "/bills/{order_id}/checkout/preview"): Call(
        P.BILLS_OWN, form={"use_insurance": "true"}
    ),
    ("POST", "/bills/{order_id}/cancel"): Call(P.BILLS_OWN, form={}),
    ("GET", "/billing/sandbox/pay/{prepay_id}"): Call(PUBLIC),
    ("POST", "/billing/sandbox/pay/{prepay_id}"): Call(PUBLIC, form={"decision": "pay"}),
    # finance pages
    ("GET", "/finance"): Call(P.BILLING_MANAGE),
    ("GET", "/finance/totals.csv"): Call(P.BILLING_MANAGE),
    ("GET", "/finance/reconciliations"): Call(P.BILLING_MANAGE),
    ("POST", "/finance/reconciliations"): Call(
        P.BILLING_MANAGE, form={"day": "2026-11-22", "channel": "sandbox"}
    ),
    ("GET", "/finance/reconciliations/{run_id}"): Call(P.BILLING_MANAGE),
    ("GET", "/finance/reconciliations/{run_id}/mismatches.csv"): Call(P.BILLING_MANAGE),
    # booking pages
    ("GET", "/doctors/{practitioner_id}/schedule"): Call(PUBLIC),
    ("GET", "/appointments/new"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/appointments/new"): Call(
        P.APPOINTMENTS_OWN, form={"slot_id": "1", "patient_id": "1", "idempotency_key": "m"}
    ),
    ("GET", "/appointments"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/appointments/{appointment_id}/cancel"): Call(P.APPOINTMENTS_OWN, form={}),
    ("GET", "/appointments/{appointment_id}/reschedule"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/appointments/{appointment_id}/reschedule"): Call(
        P.APPOINTMENTS_OWN, form={"slot_id": "1", "idempotency_key": "m"}
    ),
    ("GET", "/admin/schedule"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/schedule/sessions"): Call(P.SCHEDULES_MANAGE, form={"kind": "once"}),
    ("POST", "/admin/schedule/rules"): Call(P.SCHEDULES_MANAGE, form={"release_days_ahead": "7"}),
    ("GET", "/admin/schedule/sessions/{session_id}/stop"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/schedule/sessions/{session_id}/stop"): Call(P.SCHEDULES_MANAGE, form={}),
    # day of the visit, waitlist, no-show and scalper flag pages
    ("GET", "/doctor/day"): Call(P.APPOINTMENTS_ATTEND),
    ("POST", "/doctor/day/appointments/{appointment_id}/attendance"): Call(
        P.APPOINTMENTS_ATTEND, form={"outcome": "attended", "day": "2026-11-23"}
    ),
    ("GET", "/staff/service-day"): Call(P.SERVICES_ATTEND),
    ("POST", "/staff/service-day/appointments/{appointment_id}/attendance"): Call(
        P.SERVICES_ATTEND, form={"outcome": "attended", "day": "2026-11-23"}
    ),
    ("POST", "/appointments/{appointment_id}/check-in"): Call(P.APPOINTMENTS_OWN, form={}),
    ("GET", "/waitlist"): Call(P.APPOINTMENTS_OWN),
    ("GET", "/waitlist/new"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/waitlist/new"): Call(
        P.APPOINTMENTS_OWN, form={"session_id": "1", "patient_id": "1"}
    ),
    ("POST", "/waitlist/{entry_id}/leave"): Call(P.APPOINTMENTS_OWN, form={}),
    ("GET", "/admin/no-shows"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/no-shows/suspensions/{suspension_id}/lift"): Call(
        P.SCHEDULES_MANAGE, form={"reason": "核实为系统故障"}
    ),
    ("GET", "/admin/booking-flags"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/booking-flags/{flag_id}/review"): Call(
        P.SCHEDULES_MANAGE, form={"outcome": "legitimate", "note": ""}
    ),
    ("GET", "/doctor/schedule"): Call(P.SCHEDULE_OWN),
    ("POST", "/doctor/schedule/sessions"): Call(P.SCHEDULE_OWN, form={"kind": "once"}),
    ("GET", "/doctor/schedule/sessions/{session_id}/stop"): Call(P.SCHEDULE_OWN),
    ("POST", "/doctor/schedule/sessions/{session_id}/stop"): Call(P.SCHEDULE_OWN, form={}),
    # consultation pages
    ("GET", "/doctor/consultation-prices"): Call(P.PRACTITIONER_SELF),
    ("POST", "/doctor/consultation-prices"): Call(
        P.PRACTITIONER_SELF, form={"institution_id": "1", "consultation_type": "text", "fee": "0"}
    ),
    ("GET", "/doctors/{practitioner_id}/consult"): Call(P.CONSULTATIONS_OWN),
    ("POST", "/doctors/{practitioner_id}/consult"): Call(
        P.CONSULTATIONS_OWN, form={"patient_id": "1", "offer": "1-text", "complaint": ""}
    ),
    ("GET", "/consultations"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/consultations/{consultation_id}"): Call(P.CONSULTATIONS_OWN),
    ("GET", "/consultations/{consultation_id}/video"): Call(P.CONSULTATIONS_OWN),
    ("POST", "/consultations/{consultation_id}/cancel"): Call(P.CONSULTATIONS_OWN, form={}),
    ("POST", "/consultations/{consultation_id}/guardian"): Call(P.CONSULTATIONS_OWN, form={}),
    ("GET", "/doctor/consultations"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/doctor/consultations/{consultation_id}"): Call(P.CONSULTATIONS_ATTEND),
    ("GET", "/doctor/consultations/{consultation_id}/video"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/doctor/consultations/{consultation_id}/accept"): Call(
        P.CONSULTATIONS_ATTEND, form={}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/confirm-diagnosis"): Call(
        P.CONSULTATIONS_ATTEND, form={}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/transfer"): Call(
        P.CONSULTATIONS_ATTEND, form={"practitioner_id": "1"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/accompanying-doctor"): Call(
        P.CONSULTATIONS_ATTEND, form={"practitioner_id": "1"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/close"): Call(
        P.CONSULTATIONS_ATTEND, form={"advice": "多喝水"}
    ),
    # 义诊 campaign pages
    ("GET", "/campaigns"): Call(PUBLIC),
    ("GET", "/admin/campaigns"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/campaigns"): Call(P.SCHEDULES_MANAGE, form={"title": ""}),
    ("GET", "/admin/campaigns/{campaign_id}"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/campaigns/{campaign_id}"): Call(P.SCHEDULES_MANAGE, form={"title": ""}),
    ("POST", "/admin/campaigns/{campaign_id}/end"): Call(P.SCHEDULES_MANAGE, form={}),
    # consultation review pages
    ("GET", "/consultations/{consultation_id}/review"): Call(P.CONSULTATIONS_OWN),
    ("POST", "/consultations/{consultation_id}/review"): Call(
        P.CONSULTATIONS_OWN, form={"stars": "5"}
    ),
    ("GET", "/doctor/reviews"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/doctor/reviews/{review_id}/reply"): Call(
        P.CONSULTATIONS_ATTEND, form={"reply": "谢谢"}
    ),
    ("GET", "/admin/reviews"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/reviews/{review_id}/moderation"): Call(
        P.INSTITUTION_MANAGE, form={"decision": "approve"}
    ),
    ("POST", "/consultations/{consultation_id}/messages"): Call(
        P.CONSULTATIONS_OWN, form={"text": "在吗"}
    ),
    ("POST", "/consultations/{consultation_id}/messages/read"): Call(
        P.CONSULTATIONS_OWN, form={"up_to": "1"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/messages"): Call(
        P.CONSULTATIONS_ATTEND, form={"text": "您好"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/messages/read"): Call(
        P.CONSULTATIONS_ATTEND, form={"up_to": "1"}
    ),
    ("POST", "/doctor/consultations/{consultation_id}/record"): Call(
        P.CONSULTATIONS_ATTEND, form={"action": "sign"}
    ),
    ("GET", "/institutions/{institution_id}/departments/{department_code}/consult"): Call(
        P.CONSULTATIONS_OWN
    ),
    ("POST", "/institutions/{institution_id}/departments/{department_code}/consult"): Call(
        P.CONSULTATIONS_OWN, form={}
    ),
    ("GET", "/doctor/work-session"): Call(P.CONSULTATIONS_ATTEND),
    ("POST", "/doctor/work-session"): Call(P.CONSULTATIONS_ATTEND, form={"password": "x"}),
    ("POST", "/doctor/work-session/end"): Call(P.CONSULTATIONS_ATTEND, form={}),
    # vaccination and check-up pages
    ("GET", "/institutions/{institution_id}/services"): Call(PUBLIC),
    ("GET", "/services/{resource_id}"): Call(PUBLIC),
    ("GET", "/services/windows/{slot_id}"): Call(P.APPOINTMENTS_OWN),
    ("POST", "/services/windows/{slot_id}"): Call(
        P.APPOINTMENTS_OWN, form={"patient_id": "1", "idempotency_key": "m"}
    ),
    ("GET", "/admin/services"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/services"): Call(P.SCHEDULES_MANAGE, form={"kind": "vaccination"}),
    ("GET", "/admin/services/{resource_id}"): Call(P.SCHEDULES_MANAGE),
    ("POST", "/admin/services/{resource_id}"): Call(P.SCHEDULES_MANAGE, form={"name": "流感"}),
    ("POST", "/admin/services/{resource_id}/sessions"): Call(
        P.SCHEDULES_MANAGE, form={"kind": "once"}
    ),
    # pharmacist review (审方) and the patient's prescription pages
    ("GET", "/pharmacist/prescriptions"): Call(P.PRESCRIPTIONS_REVIEW),
    ("GET", "/pharmacist/prescriptions/{prescription_id}"): Call(P.PRESCRIPTIONS_REVIEW),
    ("POST", "/pharmacist/prescriptions/{prescription_id}/decision"): Call(
        P.PRESCRIPTIONS_REVIEW, form={"decision": "approve"}
    ),
    ("GET", "/pharmacist/review-statistics"): Call(P.PRESCRIPTIONS_REVIEW),
    ("GET", "/admin/prescription-review"): Call(P.INSTITUTION_MANAGE),
    ("GET", "/prescriptions"): Call(P.PRESCRIPTIONS_OWN),
    ("GET", "/prescriptions/{prescription_id}"): Call(P.PRESCRIPTIONS_OWN),
    # pharmacies, stock and pharmacy orders API
    ("GET", "/api/institutions/{institution_id}/pharmacies"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/api/institutions/{institution_id}/pharmacies"): Call(P.INSTITUTION_MANAGE, json={}),
    ("PUT", "/api/pharmacies/{pharmacy_id}"): Call(P.INSTITUTION_MANAGE, json={}),
    ("GET", "/api/pharmacies/{pharmacy_id}/stock"): Call(P.PHARMACY_DISPENSE),
    ("PUT", "/api/pharmacies/{pharmacy_id}/stock/{drug_id}"): Call(P.PHARMACY_DISPENSE, json={}),
    ("POST", "/api/pharmacies/{pharmacy_id}/stock/{drug_id}/changes"): Call(
        P.PHARMACY_DISPENSE, json={}
    ),
    ("GET", "/api/prescriptions/{prescription_id}/pharmacies"): Call(P.PHARMACY_ORDERS_OWN),
    ("POST", "/api/pharmacy-orders"): Call(P.PHARMACY_ORDERS_OWN, json={}),
    ("GET", "/api/pharmacy-orders"): Call(P.PHARMACY_ORDERS_OWN),
    ("GET", "/api/pharmacy-orders/{order_id}"): Call(P.PHARMACY_ORDERS_OWN),
    ("POST", "/api/pharmacy-orders/{order_id}/cancel"): Call(P.PHARMACY_ORDERS_OWN),
    ("POST", "/api/pharmacy-orders/{order_id}/pickup-code"): Call(P.PHARMACY_ORDERS_OWN),
    ("GET", "/api/pharmacy/orders"): Call(P.PHARMACY_DISPENSE),
    ("GET", "/api/pharmacy/orders/{order_id}"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/dispense"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/ship"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/refund"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/hand-over"): Call(P.PHARMACY_DISPENSE, json={}),
    ("POST", "/api/pharmacy/orders/{order_id}/cancel"): Call(P.PHARMACY_DISPENSE, json={}),
    # returned parcels API
    ("GET", "/api/pharmacy/returns"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/return"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/api/pharmacy/orders/{order_id}/return/decision"): Call(
        P.PHARMACY_DISPENSE, json={"decision": "destroy", "reason": "破损"}
    ),
    # pharmacy order pages
    ("GET", "/prescriptions/{prescription_id}/buy"): Call(P.PHARMACY_ORDERS_OWN),
    ("POST", "/prescriptions/{prescription_id}/buy"): Call(
        P.PHARMACY_ORDERS_OWN, form={"pharmacy_id": "1", "fulfilment": "pickup"}
    ),
    ("GET", "/pharmacy-orders"): Call(P.PHARMACY_ORDERS_OWN),
    ("GET", "/pharmacy-orders/{order_id}"): Call(P.PHARMACY_ORDERS_OWN),
    ("POST", "/pharmacy-orders/{order_id}/cancel"): Call(P.PHARMACY_ORDERS_OWN, form={}),
    ("GET", "/pharmacy/orders"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/pharmacy/orders/{order_id}/dispense"): Call(P.PHARMACY_DISPENSE, form={}),
    ("GET", "/pharmacy/orders/{order_id}"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/pharmacy/orders/{order_id}/ship"): Call(P.PHARMACY_DISPENSE, form={}),
    ("POST", "/pharmacy/orders/{order_id}/refund"): Call(P.PHARMACY_DISPENSE, form={}),
    ("POST", "/pharmacy/orders/{order_id}/excursion-decision"): Call(
        P.PHARMACY_DISPENSE, form={"decision": "accept", "note": "ok"}
    ),
    ("POST", "/pharmacy/orders/{order_id}/hand-over"): Call(
        P.PHARMACY_DISPENSE, form={"code": "123456"}
    ),
    ("POST", "/pharmacy/orders/{order_id}/return"): Call(P.PHARMACY_DISPENSE, form={}),
    ("POST", "/pharmacy/orders/{order_id}/return/decision"): Call(
        P.PHARMACY_DISPENSE, form={"decision": "destroy", "reason": "破损"}
    ),
    # pharmacy admin and stock pages
    ("GET", "/admin/pharmacies"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/pharmacies"): Call(P.INSTITUTION_MANAGE, form={}),
    ("GET", "/admin/pharmacies/{pharmacy_id}"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/pharmacies/{pharmacy_id}"): Call(P.INSTITUTION_MANAGE, form={}),
    ("GET", "/pharmacy/stock"): Call(P.PHARMACY_DISPENSE),
    ("GET", "/pharmacy/stock/{pharmacy_id}"): Call(P.PHARMACY_DISPENSE),
    ("GET", "/pharmacy/stock/{pharmacy_id}/drugs/{drug_id}"): Call(P.PHARMACY_DISPENSE),
    ("POST", "/pharmacy/stock/{pharmacy_id}/drugs/{drug_id}"): Call(P.PHARMACY_DISPENSE, form={}),
    ("POST", "/pharmacy/stock/{pharmacy_id}/drugs/{drug_id}/receive"): Call(
        P.PHARMACY_DISPENSE, form={}
    ),
    ("POST", "/pharmacy/stock/{pharmacy_id}/drugs/{drug_id}/adjust"): Call(
        P.PHARMACY_DISPENSE, form={}
    ),
    # inbox pages
    ("GET", "/inbox"): Call(P.ACCOUNT_SELF),
    ("POST", "/inbox/read-all"): Call(P.ACCOUNT_SELF, form={}),
    ("POST", "/inbox/{message_id}/read"): Call(P.ACCOUNT_SELF, form={}),
    # supervision: alerts, the rule catalogue, an institution's switches, a region's thresholds
    ("GET", "/api/supervision/alerts"): Call(P.SUPERVISION_ALERTS),
    ("GET", "/api/supervision/alerts/{alert_id}"): Call(P.SUPERVISION_ALERTS),
    ("POST", "/api/supervision/alerts/{alert_id}/acknowledge"): Call(P.SUPERVISION_ALERTS),
    ("POST", "/api/supervision/alerts/{alert_id}/resolve"): Call(
        P.SUPERVISION_ALERTS, json={"note": "ok"}
    ),
    ("GET", "/api/institutions/{institution_id}/supervision/rules"): Call(P.INSTITUTION_MANAGE),
    ("PUT", "/api/institutions/{institution_id}/supervision/rules/{rule_id}"): Call(
        P.INSTITUTION_MANAGE, json={"enabled": True}
    ),
    ("GET", "/api/supervision/rules"): Call(P.REGION_SUPERVISE),
    ("PUT", "/api/supervision/rules/{rule_id}/thresholds"): Call(
        P.REGION_SUPERVISE, json={"values": {"max_wait_minutes": 30}}
    ),
    ("GET", "/api/supervision/data-incidents"): Call(P.SUPERVISION_ALERTS),
    ("POST", "/api/institutions/{institution_id}/supervision/data-incidents"): Call(
        P.INSTITUTION_MANAGE,
        json={"summary": "x", "affected_people": 1, "discovered_at": "2026-11-20T08:00:00+08:00"},
    ),
    ("POST", "/api/supervision/data-incidents/{incident_id}/report"): Call(
        P.INSTITUTION_MANAGE, json={"reference": "x"}
    ),
    ("GET", "/supervision/data-incidents"): Call(P.SUPERVISION_ALERTS),
    ("POST", "/supervision/data-incidents"): Call(
        P.INSTITUTION_MANAGE,
        form={"summary": "x", "affected_people": "1", "discovered_at": "2026-11-20T08:00"},
    ),
    ("POST", "/supervision/data-incidents/{incident_id}/report"): Call(
        P.INSTITUTION_MANAGE, form={"reference": "x"}
    ),
    ("GET", "/supervision/alerts"): Call(P.SUPERVISION_ALERTS),
    ("GET", "/supervision/alerts/{alert_id}"): Call(P.SUPERVISION_ALERTS),
    ("POST", "/supervision/alerts/{alert_id}/acknowledge"): Call(P.SUPERVISION_ALERTS, form={}),
    ("POST", "/supervision/alerts/{alert_id}/resolve"): Call(
        P.SUPERVISION_ALERTS, form={"note": "ok"}
    ),
    # the supervision dashboard: figures and the cases behind them
    ("GET", "/api/regulator/dashboard"): Call(P.SUPERVISION_METRICS),
    ("GET", "/api/regulator/dashboard/cases"): Call(P.SUPERVISION_METRICS),
    ("GET", "/regulator/dashboard"): Call(P.SUPERVISION_METRICS),
    ("GET", "/regulator/dashboard/cases"): Call(P.SUPERVISION_METRICS),
    ("GET", "/admin/supervision/metrics"): Call(P.SUPERVISION_METRICS),
    ("GET", "/admin/supervision/metrics/cases"): Call(P.SUPERVISION_METRICS),
    ("GET", "/admin/supervision/rules"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/supervision/rules/{rule_id}"): Call(
        P.INSTITUTION_MANAGE, form={"enabled": "on"}
    ),
    ("GET", "/supervision/rules"): Call(P.REGION_SUPERVISE),
    ("POST", "/supervision/rules/{rule_id}"): Call(
        P.REGION_SUPERVISE, form={"max_wait_minutes": "30"}
    ),
    # live updates
    ("WS", "/ws/notifications"): Call(P.ACCOUNT_SELF),
    ("WS", "/ws/consultations/{consultation_id}"): Call(P.CONSULTATIONS_OWN),
    ("WS", "/ws/doctor/consultations/{consultation_id}"): Call(P.CONSULTATIONS_ATTEND),
    ("WS", "/ws/command-centre"): Call(P.EPIDEMIC_COMMAND),
    # epidemic pre-screening and the command centre
    ("GET", "/api/prescreening/questionnaire"): Call(PUBLIC),
    ("POST", "/api/prescreening/submissions"): Call(P.PRESCREENING_OWN, json={}),
    ("GET", "/api/prescreening/submissions"): Call(P.PRESCREENING_OWN),
    ("GET", "/api/prescreening/submissions/{submission_id}"): Call(P.ACCOUNT_SELF),
    ("GET", "/api/admin/prescreening/questionnaires"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/api/admin/prescreening/questionnaires"): Call(P.PRESCREENING_MANAGE, json={}),
    ("POST", "/api/admin/prescreening/questionnaires/{questionnaire_id}/retire"): Call(
        P.PRESCREENING_MANAGE
    ),
    ("GET", "/api/admin/prescreening/drafts"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/api/admin/prescreening/drafts"): Call(P.PRESCREENING_MANAGE, json={}),
    ("GET", "/api/admin/prescreening/drafts/{draft_id}"): Call(P.PRESCREENING_MANAGE),
    ("PUT", "/api/admin/prescreening/drafts/{draft_id}"): Call(P.PRESCREENING_MANAGE, json={}),
    ("DELETE", "/api/admin/prescreening/drafts/{draft_id}"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/api/admin/prescreening/drafts/{draft_id}/publish"): Call(
        P.PRESCREENING_MANAGE, json={}
    ),
    ("GET", "/api/command-centre/alerts"): Call(P.EPIDEMIC_COMMAND),
    ("POST", "/api/command-centre/alerts/{alert_id}"): Call(
        P.EPIDEMIC_COMMAND, json={"status": "contacted"}
    ),
    ("GET", "/api/institutions/{institution_id}/fever-clinics"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/api/institutions/{institution_id}/fever-clinics"): Call(
        P.INSTITUTION_MANAGE, json={}
    ),
    ("POST", "/api/institutions/{institution_id}/fever-clinics/{clinic_id}/{action}"): Call(
        P.INSTITUTION_MANAGE
    ),
    ("GET", "/prescreening"): Call(P.PRESCREENING_OWN),
    ("POST", "/prescreening"): Call(P.PRESCREENING_OWN, form={}),
    ("GET", "/prescreening/{submission_id}"): Call(P.ACCOUNT_SELF),
    ("GET", "/command-centre"): Call(P.EPIDEMIC_COMMAND),
    ("POST", "/command-centre/alerts/{alert_id}"): Call(P.EPIDEMIC_COMMAND, form={}),
    ("GET", "/admin/prescreening"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/admin/prescreening"): Call(P.PRESCREENING_MANAGE, form={}),
    ("POST", "/admin/prescreening/{questionnaire_id}/retire"): Call(P.PRESCREENING_MANAGE, form={}),
    ("POST", "/admin/prescreening/drafts"): Call(P.PRESCREENING_MANAGE, form={}),
    ("GET", "/admin/prescreening/drafts/{draft_id}"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/admin/prescreening/drafts/{draft_id}"): Call(P.PRESCREENING_MANAGE, form={}),
    ("GET", "/admin/prescreening/drafts/{draft_id}/preview"): Call(P.PRESCREENING_MANAGE),
    ("POST", "/admin/prescreening/drafts/{draft_id}/discard"): Call(P.PRESCREENING_MANAGE, form={}),
    ("GET", "/admin/fever-clinics"): Call(P.INSTITUTION_MANAGE),
    ("POST", "/admin/fever-clinics"): Call(P.INSTITUTION_MANAGE, form={}),
    ("POST", "/admin/fever-clinics/{clinic_id}/{action}"): Call(P.INSTITUTION_MANAGE, form={}),
}


def allowed_callers(permission: Permission | None) -> set[str]:
    if permission is PUBLIC:
        return set(CALLERS)
    return {role for role in Role if permission in GRANTS[role]}


def path_values(world: World, caller: str) -> dict[str, object]:
    """Path parameters naming the caller's own objects (the patient's for callers without)."""
    owner = caller if caller in world.messages else Role.PATIENT
    return {
        "patient_id": world.patient.id,
        "message_id": world.messages[owner].id,
        "institution_id": world.institution.id,
        "practitioner_id": world.practitioner_id,
        "department_code": "03.04",
        "order_id": 1,
        "pharmacy_id": 1,
        "prescription_id": 1,
        "drug_id": 1,
        "run_id": 1,
        "session_id": 999_999,  # no such session (1 is the vaccination's, which no doctor may stop)
        "appointment_id": 1,
        "consultation_id": 1,
        "campaign_id": 1,
        "record_id": 1,
        "review_id": 1,
        "entry_id": 1,
        "file_id": 1,
        "flag_id": 1,
        "alert_id": 1,
        "incident_id": 1,
        "rule_id": "R13.3",
        "suspension_id": 1,
        "resource_id": world.resource_id,
        "slot_id": world.slot_id,
        "channel": "sandbox",
        "carrier": "sandbox",
        "shipment_id": 1,
        "prepay_id": "no-such-prepay",
        "path": "css/app.css",
        "submission_id": 1,
        "questionnaire_id": 999_999,
        "draft_id": 999_999,
        "clinic_id": 1,
        "action": "close",
        "kind": "consultation",
        "case_id": 1,
    }


async def _call(app, world, caller: str, method: str, path: str, call: Call) -> httpx.Response:
    page = not path.startswith("/api/")
    async with client_for(app, world, caller, page=page) as client:
        return await client.request(
            method,
            path.format(**path_values(world, caller)),
            json=call.json,
            data=call.form,
            headers={"Accept": BROWSER_ACCEPT} if page else None,
        )


async def _socket_problem(app, world, caller: str, path: str, allowed: bool) -> str | None:
    """Why the socket's answer is not what ``caller`` should get, or None when it is."""
    headers = {} if caller == ANONYMOUS else {"Authorization": f"Bearer {world.api_tokens[caller]}"}
    async with open_socket(app, path.format(**path_values(world, caller)), headers=headers) as ws:
        first = await receive(ws)
        if allowed:  # the role may connect: ready, or refused for the object (not the role)
            refused = first.get("code") in ("auth.required", "auth.forbidden")
            return None if first == {"type": "ready"} or not refused else f"allowed, got {first}"
        try:
            await receive(ws)
        except WebSocketDisconnect as closed:
            code = closed.code
        else:
            return "not closed after the error frame"
    expected = (
        (CLOSE_UNAUTHENTICATED, "auth.required")
        if caller == ANONYMOUS
        else (CLOSE_FORBIDDEN, "auth.forbidden")
    )
    if (code, first.get("code")) != expected:
        return f"not refused as it should be: close {code}, frame {first}"
    return None


def _sent_to_login(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def _page_refusal(response: httpx.Response, method: str, caller: str) -> str | None:
    """Why the page ``response`` is not the refusal ``caller`` should get, or None when it is."""
    if caller == ANONYMOUS:
        if not _sent_to_login(response):
            return f"{response.status_code} instead of a redirect to the login page"
        back = urlsplit(response.headers["location"]).query
        if method == "GET" and parse_qs(back).get("next", [""])[0] != str(
            response.request.url.raw_path, "ascii"
        ):
            return f"the login page does not lead back: {response.headers['location']}"
        return None
    if response.status_code != 403:
        return f"{response.status_code} instead of 403"
    if not response.headers.get("content-type", "").startswith("text/html"):
        return "the refusal is not an HTML page"
    if 'data-problem="auth.forbidden"' not in response.text:
        return "the error page does not show the auth.forbidden problem"
    return None


def _refusal(response: httpx.Response, method: str, path: str, caller: str) -> str | None:
    """Why ``response`` is not the refusal ``caller`` should get, or None when it is."""
    if not path.startswith("/api/"):
        return _page_refusal(response, method, caller)
    status, code = (401, "auth.required") if caller == ANONYMOUS else (403, "auth.forbidden")
    if response.status_code != status:
        return f"{response.status_code} instead of {status}"
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return "the refusal is not problem+json"
    if response.json()["code"] != code:
        return f"code {response.json()['code']} instead of {code}"
    return None


def test_every_route_is_declared_in_the_matrix(app):
    served = {key for key, _ in served_routes(app)}
    assert sorted(served - ROUTES.keys()) == [], "declare these routes in ROUTES"
    assert sorted(ROUTES.keys() - served) == [], "these declared routes no longer exist"


def test_every_route_requires_the_declared_permission(app):
    wrong = {
        key: (permission_of(route), ROUTES[key].permission)
        for key, route in served_routes(app)
        if key in ROUTES and permission_of(route) != ROUTES[key].permission
    }
    assert wrong == {}, "route: (requires, declared)"


async def test_each_role_gets_what_the_permission_table_grants(app, session, clock):
    """One world for all routes; each route's calls are undone before the next route's."""
    world = await build_world(session, clock=clock)
    connection = await session.connection()
    failures: dict[str, str] = {}
    for (method, path), call in sorted(ROUTES.items()):
        allowed = allowed_callers(call.permission)
        savepoint = await connection.begin_nested()
        try:
            for caller in CALLERS:
                where = f"{method} {path} as {caller}"
                if method == "WS":
                    allowed_here = caller in allowed
                    if problem := await _socket_problem(app, world, caller, path, allowed_here):
                        failures[where] = problem
                    continue
                response = await _call(app, world, caller, method, path, call)
                if caller in allowed:
                    refused = response.status_code in (401, 403) or _sent_to_login(response)
                    if refused or response.status_code >= 500:
                        failures[where] = f"allowed, got {response.status_code}: {response.text}"
                elif problem := _refusal(response, method, path, caller):
                    failures[where] = f"not refused as it should be: {problem}"
        finally:
            await savepoint.rollback()
    assert failures == {}
