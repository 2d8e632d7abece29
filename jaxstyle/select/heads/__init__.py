"""The learned object map's heads: the cell head (cellhead), its training cells' labels from image-labelled
pools (cellpool), the animal patches of its cells (patches), and the patch judge (patchjudge)."""
