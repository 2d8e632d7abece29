"""Which filters a class selects: classes and WordNet, image pools, scoring, filter lists and probes.
The pictures that show what a filter responds to are :mod:`jaxstyle.visualize`'s."""
