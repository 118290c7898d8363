"""Fuzz targets for the readers, and a runner (``python -m fuzz.run``, ``make fuzz``)."""
