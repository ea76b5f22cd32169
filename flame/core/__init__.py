"""The ground floor every layer stands on: stdlib and numpy only.

Errors (:mod:`flame.core.errors`), optional imports that name what to install
(:mod:`flame.core.deps`), atomic files (:mod:`flame.core.files`),
frame offsets and fps checks (:mod:`flame.core.offsets`), latency statistics
(:mod:`flame.core.latency`), natural sort order (:mod:`flame.core.order`) and
the model card, the contract between layers (:mod:`flame.core.card`).
See ``docs/architecture.md``.
"""
