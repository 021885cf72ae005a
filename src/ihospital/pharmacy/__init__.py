"""Pharmacies: stock, orders for approved prescriptions, dispensing, delivery and cold chain."""
