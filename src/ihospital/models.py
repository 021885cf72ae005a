"""Imports every domain's tables so that ``Base.metadata`` is complete (migrations, tests)."""

from ihospital.audit import models as audit_models
from ihospital.billing import models as billing_models
from ihospital.billing import reconciliation_models
from ihospital.billing.insurance import models as insurance_models
from ihospital.booking import dayof_models
from ihospital.booking import models as booking_models
from ihospital.booking.fairness import models as booking_fairness_models
from ihospital.consultation import call_models, chat_models, duty_models
from ihospital.consultation import models as consultation_models
from ihospital.consultation.campaigns import models as campaign_models
from ihospital.consultation.records import models as records_models
from ihospital.consultation.reviews import models as reviews_models
from ihospital.directory import models as directory_models
from ihospital.files import models as files_models
from ihospital.identity import models as identity_models
from ihospital.notifications import models as notification_models
from ihospital.outbox import models as outbox_models
from ihospital.pharmacy import models as pharmacy_models
from ihospital.pharmacy import shipment_models
from ihospital.prescribing import allergy_models as prescribing_allergy_models
from ihospital.prescribing import models as prescribing_models
from ihospital.security import models as security_models
from ihospital.supervision import models as supervision_models
from ihospital.supervision.reporting import models as reporting_models
from ihospital.triage.prescreening import models as prescreening_models

ALL_MODEL_MODULES = (
    audit_models,
    billing_models,
    booking_models,
    campaign_models,
    dayof_models,
    booking_fairness_models,
    call_models,
    chat_models,
    duty_models,
    consultation_models,
    directory_models,
    files_models,
    identity_models,
    insurance_models,
    notification_models,
    outbox_models,
    pharmacy_models,
    prescribing_allergy_models,
    prescribing_models,
    reconciliation_models,
    shipment_models,
    records_models,
    reviews_models,
    reporting_models,
    security_models,
    prescreening_models,
    supervision_models,
)
