"""One run: `run.train_run(spec) -> RunResult`, the loop, the recipe, diagnostics, checkpoints,
and what a record says of its speed and provenance. Knows nothing of storage or executors.
Nothing here is imported by `import resbench.train`: the modules that need torch import it."""
