"""E-prescriptions (电子处方): the drug catalogue, prescriptions written and signed by the doctor
with their safety checks, and the pharmacist's review (审方)."""
