"""Which filters a class selects: classes and WordNet, image pools, scoring, filter lists, probes,
and the pictures (activation maximisation) that show what a filter responds to."""
