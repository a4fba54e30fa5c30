"""Simulated Infinite Campus OneRoster 1.1 provider (generator, state, WSGI app)."""
