"""A simulated Canvas LMS: SIS imports by Canvas's CSV rules, passback reads, throttling.

``store.CanvasData`` holds the data (``state.CanvasState`` adds tokens, throttling and the
import worker), ``sis`` applies SIS zips to it, ``app.create_canvas_app``
serves the REST API and the ``/_sandbox/canvas/`` controls, and ``coursework`` seeds
assignments, scores and a "previous SIS" population. Never enabled in production.
"""
