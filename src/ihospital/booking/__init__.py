"""Appointment booking (预约挂号): schedules cut into exact slots, release rules, appointments."""
