"""Reservations: the request, its plan from the projection, the decision in SQL (group commit on
one writer thread), and how a hold ends (consumed, released, expired).
"""
