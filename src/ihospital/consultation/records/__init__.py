"""Medical records (电子病历) of diagnostic consultations: ICD-10 diagnoses, signed versions."""
