"""Applications that compose the layers below: assess, demo, bench, doctor, plots.

``flame.evaluation`` and ``flame.runtime`` never import each other; code that
needs both (measure an engine's latency with the runtime, score it with the
metric) lives here, one layer above them. See ``docs/architecture.md``.
"""
