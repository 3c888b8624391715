"""The figures of a sweep, each built once as data (`model`) from the results' frames: the
final metric by depth (`depth`), the training curves (`curves`), the gradient norm by layer
(`layers`) and the metric against a swept key (`landscape`). `resbench.views.png` draws them
as PNG, `resbench.views.svg` and `resbench.views.html` on the page."""
