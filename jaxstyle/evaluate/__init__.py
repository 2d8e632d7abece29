"""Measuring the results: metrics, evaluation runs on masked photos, object-map evaluation, galleries."""
