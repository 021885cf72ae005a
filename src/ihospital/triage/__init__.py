"""Smart triage (智能导诊) and epidemic pre-screening (预检分诊)."""
