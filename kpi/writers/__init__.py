"""Writers: one module per format, each turning a `kpi.document.Document` into bytes.

A writer knows its format and nothing of the domain; the paper decides what is said.
"""
