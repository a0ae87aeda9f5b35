"""Example run manifests, shipped with the package so `pileline demo` finds demo.yaml."""
