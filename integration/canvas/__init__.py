"""Canvas LMS client: SIS imports for provisioning, REST reads for grade passback.

``client.CanvasClient`` is the entry point; ``types`` holds the typed data it returns and
``errors`` the Canvas-specific refinements of the shared upstream errors.
"""
