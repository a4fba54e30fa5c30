"""A simulated Canvas LMS: SIS imports by Canvas's CSV rules, passback reads, throttling.

``CanvasState`` holds the data, ``csv_rules`` applies SIS zips to it, ``create_canvas_app``
serves the REST API and the ``/_sandbox/canvas/`` controls, and ``coursework`` seeds
assignments, scores and a "previous SIS" population. Never enabled in production.
"""

from sandbox.canvas.app import create_canvas_app
from sandbox.canvas.state import CanvasState

__all__ = ["CanvasState", "create_canvas_app"]
