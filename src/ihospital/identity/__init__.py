"""Accounts, sign-up and login, patients (就诊人) and real-name verification (实名制)."""
