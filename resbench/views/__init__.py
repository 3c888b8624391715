"""How results are shown: text tables (rich, markdown, CSV, JSON), PNG figures, the HTML page,
TensorBoard event files and the live progress of a sweep."""
