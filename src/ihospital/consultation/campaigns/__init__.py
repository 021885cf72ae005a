"""义诊: free-clinic campaigns of an institution, in which chosen doctors consult online for
free, a limited number of patients per doctor and day."""
