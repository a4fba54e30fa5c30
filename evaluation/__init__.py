"""The conversion evaluation: before a district switching SIS gets its first import, how do
the users, courses and sections already in its Canvas line up with its OneRoster source?

``services`` runs an evaluation (a ``SyncRun`` of kind ``evaluation``) and stores an
``EvaluationReport``; ``read`` streams both sides into the run's working schema; ``classify``
sorts every object into exactly one match class with set-based SQL; ``risks`` turns the
counts into notes in plain words; ``selectors`` and ``exports`` serve the report page, the
CSV downloads and the proposed ``change_sis_id.csv``; ``sync_cli`` is ``manage.py sync
evaluate``.
"""
