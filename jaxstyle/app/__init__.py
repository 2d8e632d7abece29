"""``jaxstyle app``: a local web page to stylize one object of a photo, its object map shown and correctable.

:mod:`.session` holds the work (uploads, the map and its strokes, the stylization jobs),
:mod:`.jobs` the queue that runs one job at a time, :mod:`.ui` the Gradio page over them.
"""
