"""Figures of the paper from the workflow's result files (PNG + PDF + a JSON sidecar).

One module per figure: :mod:`performance` (Fig. 2a), :mod:`op_probs` (Fig. 3a),
:mod:`embeddings` (Fig. 3b), :mod:`progress` (search progress). Each has a pure
``summarise_*`` (tables -> the plotted numbers, also written as the sidecar), a ``draw_*``
(numbers -> matplotlib Figure) and a ``plot_*`` (both, saved). Readers are in :mod:`tables`.
"""
