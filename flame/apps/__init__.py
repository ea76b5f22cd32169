"""Applications that compose the layers below: assess, demo, bench, doctor, plots.

Each command has one request and one function here (``run.RunRequest`` / ``run_stream``,
``evaluate.EvalRequest`` / ``evaluate``, ``bench_request.BenchRequest`` / ``run_bench``); the click
module only parses into the request, calls the function and prints.

``flame.evaluation`` and ``flame.runtime`` never import each other; code that
needs both (measure an engine's latency with the runtime, score it with the
metric) lives here, one layer above them. See ``docs/architecture.md``.
"""
