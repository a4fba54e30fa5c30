"""Canvas's SIS CSV import rules, one module per Canvas importer.

Modelled on canvas-lms ``lib/sis/csv/*`` and ``lib/sis/*_importer.rb``: ``upload`` reads and
types the files, ``diffing`` keeps what changed since the previous import, ``run`` applies
them in Canvas's order through ``change_sis_ids``, ``accounts``, ``terms``, ``courses``,
``sections``, ``xlists``, ``users``, ``enrollments`` and ``user_observers``; ``context``
holds what they share. Each bad row becomes a warning with Canvas's message and the rest of
the file goes on.

Deliberate simplifications are listed in docs/canvas-client.md (no custom roles, no
groups/admins/logins importers, no batch-mode cleanup).
"""
