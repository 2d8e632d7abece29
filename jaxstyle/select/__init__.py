"""Which filters a class selects, split by role: the vocabulary here (``classes``, ``wordnet``, ``assets``),
``probes`` (filter scores, filter lists, the class probe), ``pools`` (image pools and their batching) and
``heads`` (the learned map's cell head and patch judge). The pictures that show what a filter responds to
are :mod:`jaxstyle.visualize`'s."""
