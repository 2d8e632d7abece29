"""Pictures of what VGG-19 filters respond to: activation maximisation (:mod:`.actmax`), what
``jaxstyle visualize`` draws, and receptive-field crops and captioned contact sheets
(:mod:`.sheets`), which the visualize, score and evaluate commands lay out."""
