"""Roles and what each may do: the one place where permissions are decided.

Routes declare the permission they need with :func:`ihospital.security.auth.require`; services
then check the relation to the data (a patient's own 就诊人, a doctor's own institution) with the
helpers here. The authorisation-matrix test walks every route against every role from this table.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    PHARMACIST = "pharmacist"
    NURSE = "nurse"
    INSTITUTION_ADMIN = "institution_admin"
    REGULATOR = "regulator"
    PLATFORM_ADMIN = "platform_admin"


class Permission(StrEnum):
    ACCOUNT_SELF = "account:self"  # own profile, preferences, inbox, sessions
    PATIENTS_OWN = "patients:own"  # manage the 就诊人 of one's own account
    PRACTITIONER_SELF = "practitioner:self"  # a doctor's own professional profile
    STAFF_MANAGE = "staff:manage"  # create staff accounts, review doctors' credentials
    INSTITUTION_MANAGE = "institution:manage"  # edit an institution and its departments
    INSTITUTION_CREATE = "institution:create"  # register a new institution
    AUDIT_READ = "audit:read"  # read and verify the audit log
    REGION_SUPERVISE = "region:supervise"  # regulator views of a region
    OUTBOX_READ = "outbox:read"  # operators' view of the outbox (pending, lag, dead events)
    BILLS_OWN = "bills:own"  # see and pay the bills of one's own 就诊人
    BILLING_MANAGE = "billing:manage"  # bill patients, refund and see an institution's bills
    SCHEDULES_MANAGE = "schedules:manage"  # an institution's sessions (出诊) and booking rules
    APPOINTMENTS_OWN = "appointments:own"  # book, cancel and check in for one's own 就诊人
    APPOINTMENTS_ATTEND = "appointments:attend"  # a doctor's day list and attendance marks
    SCHEDULE_OWN = "schedule:own"  # a doctor's own sessions, where the institution allows it
    # the day list and attendance marks of an institution's vaccinations and check-ups
    SERVICES_ATTEND = "services:attend"
    CONSULTATIONS_OWN = "consultations:own"  # start, follow and cancel one's own 就诊人's 问诊
    CONSULTATIONS_ATTEND = "consultations:attend"  # a doctor's consultation queue and actions
    FILES_UPLOAD = "files:upload"  # upload pictures, reports (JPEG, PNG, PDF) and voice clips
    SHIPMENTS_TRACK = "shipments:track"  # an institution's drug deliveries and cold-chain decisions
    PRESCRIPTIONS_OWN = "prescriptions:own"  # the approved prescriptions of one's own 就诊人
    PRESCRIPTIONS_REVIEW = "prescriptions:review"  # a pharmacist's review (审方) of prescriptions
    PHARMACY_ORDERS_OWN = "pharmacy-orders:own"  # buy the drugs of one's own 就诊人's prescriptions
    PHARMACY_DISPENSE = "pharmacy:dispense"  # a pharmacy's stock and the orders to dispense
    DRUGS_READ = "drugs:read"  # search the drug catalogue (not patients: R08)
    DRUGS_MANAGE = "drugs:manage"  # import the national drug catalogue, deactivate drugs
    PRESCREENING_OWN = "prescreening:own"  # answer the epidemic pre-screening for one's 就诊人
    PRESCREENING_MANAGE = "prescreening:manage"  # publish versions of the pre-screening questions
    EPIDEMIC_COMMAND = "epidemic:command"  # the command centre's board of a region's alerts
    # the supervision alerts of one's institution (admins) or region (regulators)
    SUPERVISION_ALERTS = "supervision:alerts"
    # the reporting feed to the provincial platform: its lag, failures and re-queueing
    REPORTING_FEED = "reporting:feed"
    # the timeline and case file of a consultation or prescription (regulators of its region,
    # admins of its institution)
    CASES_TRACE = "cases:trace"
    # the supervision dashboard's figures and the cases behind them: of one's institution
    # (admins) or region (regulators)
    SUPERVISION_METRICS = "supervision:metrics"


STAFF_ROLES = frozenset({Role.DOCTOR, Role.PHARMACIST, Role.NURSE, Role.INSTITUTION_ADMIN})

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.PATIENT: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.PATIENTS_OWN,
            Permission.BILLS_OWN,
            Permission.APPOINTMENTS_OWN,
            Permission.CONSULTATIONS_OWN,
            Permission.FILES_UPLOAD,
            Permission.PRESCRIPTIONS_OWN,
            Permission.PHARMACY_ORDERS_OWN,
            Permission.PRESCREENING_OWN,
        }
    ),
    Role.DOCTOR: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.PRACTITIONER_SELF,
            Permission.APPOINTMENTS_ATTEND,
            Permission.SCHEDULE_OWN,
            Permission.CONSULTATIONS_ATTEND,
            Permission.FILES_UPLOAD,  # a doctor answers a 语音 consultation with voice clips
            Permission.DRUGS_READ,
        }
    ),
    Role.PHARMACIST: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.SHIPMENTS_TRACK,
            Permission.PRESCRIPTIONS_REVIEW,
            Permission.PHARMACY_DISPENSE,
            Permission.DRUGS_READ,
        }
    ),
    Role.NURSE: frozenset({Permission.ACCOUNT_SELF, Permission.SERVICES_ATTEND}),
    Role.INSTITUTION_ADMIN: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.STAFF_MANAGE,
            Permission.INSTITUTION_MANAGE,
            Permission.BILLING_MANAGE,
            Permission.SCHEDULES_MANAGE,
            Permission.SERVICES_ATTEND,
            Permission.SUPERVISION_ALERTS,
            Permission.CASES_TRACE,
            Permission.SUPERVISION_METRICS,
        }
    ),
    Role.REGULATOR: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.AUDIT_READ,
            Permission.REGION_SUPERVISE,
            Permission.EPIDEMIC_COMMAND,
            Permission.SUPERVISION_ALERTS,
            Permission.SUPERVISION_METRICS,
            Permission.REPORTING_FEED,
            Permission.CASES_TRACE,
        }
    ),
    Role.PLATFORM_ADMIN: frozenset(
        {
            Permission.ACCOUNT_SELF,
            Permission.STAFF_MANAGE,
            Permission.INSTITUTION_MANAGE,
            Permission.INSTITUTION_CREATE,
            Permission.AUDIT_READ,
            Permission.OUTBOX_READ,
            Permission.BILLING_MANAGE,
            Permission.SCHEDULES_MANAGE,
            Permission.DRUGS_READ,
            Permission.DRUGS_MANAGE,
            Permission.PRESCREENING_MANAGE,
            Permission.EPIDEMIC_COMMAND,
            Permission.SUPERVISION_ALERTS,
            Permission.SUPERVISION_METRICS,
            Permission.REPORTING_FEED,
            Permission.CASES_TRACE,
        }
    ),
}


def has_permission(role: str, permission: Permission) -> bool:
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False


def may_manage_institution(
    role: str, actor_institution_id: int | None, institution_id: int
) -> bool:
    """Institution admins manage only their own institution; platform admins manage all."""
    if role == Role.PLATFORM_ADMIN:
        return True
    return role == Role.INSTITUTION_ADMIN and actor_institution_id == institution_id
