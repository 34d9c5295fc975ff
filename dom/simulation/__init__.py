"""Simulations: orders replayed against a snapshot of stock under several rule sets, side by
side, as RQ jobs the API starts and follows."""
