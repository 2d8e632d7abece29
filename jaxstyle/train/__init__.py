"""The heads' training passes over image-labelled pools: each runs the pools through VGG-19 and the map
(``transfer``) to make the rows that :mod:`jaxstyle.select.heads` labels and fits, so it sits above
``transfer`` (beside ``evaluate``): the cell head's cells (cellpass) and the patch judge's patches (patchpass)."""
