#!/usr/bin/env bash
# The Python packages resbench needs that a bare GPU image may lack (pydantic and its parts,
# and mnist1d), as wheels: fetched where PyPI is reachable, installed where it is not.
#
#   bash benchmarks/wheels.sh download DIR [PYTHON_VERSION]   # default 3.12, Linux x86-64
#   bash benchmarks/wheels.sh install DIR SITE                # then: export PYTHONPATH=SITE:...
#
# `download` takes the versions installed where it runs (those this checkout is tested with),
# so run it in resbench's own environment. The other needs of mnist1d (numpy, scipy,
# matplotlib, requests) and of resbench (torch, typer, rich, pandas, pyyaml, filelock) are the
# image's. `install` needs no network: pip installs from DIR alone, into the folder SITE.
set -euo pipefail
PY=${PYTHON:-python3}
PACKAGES=(pydantic pydantic-core annotated-types typing-inspection typing-extensions mnist1d)

case "${1:-}" in
  download)
    dir=${2:?usage: wheels.sh download DIR [PYTHON_VERSION]}
    pins=()
    for p in "${PACKAGES[@]}"; do
      pins+=("$p==$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p")")
    done
    "$PY" -m pip download --no-deps --only-binary=:all: -d "$dir" \
      --python-version "${3:-3.12}" --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 "${pins[@]}"
    ls "$dir"
    ;;
  install)
    dir=${2:?usage: wheels.sh install DIR SITE}
    site=${3:?usage: wheels.sh install DIR SITE}
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$dir"/*.whl
    ;;
  *)
    echo "usage: wheels.sh download DIR [PYTHON_VERSION] | wheels.sh install DIR SITE" >&2
    exit 2
    ;;
esac
