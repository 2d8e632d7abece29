"""Scoring and choosing filters, and the class probe: the filter scores (scoring), their files (scorefile,
poolscores), the filter lists (filters), and the probe that judges a photo's regions (probe, regions)."""
