"""depthlab: an example of bringing your own network family and dataset to resbench.

`depthlab.nets:build` is a DenseNet-style family of 1D conv nets (arch `dense`), and
`depthlab.data:waves` a generated dataset of noisy waves; `dense-vs-residual.yaml` sweeps the
family against resbench's own plain and residual nets. docs/plugins.md walks through it.
"""
