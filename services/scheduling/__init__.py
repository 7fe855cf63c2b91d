"""Scheduling: conference slots, bookings and attendance."""
