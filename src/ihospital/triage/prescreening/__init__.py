"""Epidemic pre-screening (预检分诊): a versioned questionnaire the platform admins configure, a
risk level with instructions and the nearest fever clinics (发热门诊) for the patient, and the
command centre's board of high-risk alerts, fed through the outbox and shown live."""
