"""The optional compiled lane (src/funnelcli/_lane.c); everything else is in pyproject.toml.

``optional=True``: on a machine without a C compiler the install still succeeds, and the
report reads every row in Python (readers/lane.py falls back; README, Performance).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "funnelcli._lane",
            ["src/funnelcli/_lane.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
        # The XLSX guard's scan of a sheet's cells (readers/tabular/xlsx_scan.py does it in Python
        # too).
        Extension(
            "funnelcli._xlsx_scan",
            ["src/funnelcli/_xlsx_scan.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
    ]
)
