"""Load benchmarks: anchors (nginx, a bare Starlette hello) and gatekeeper run side by side; ratios printed."""
