"""Provisioning services: runs, reading, planning, zips and applying (docs/provisioning.md)."""
