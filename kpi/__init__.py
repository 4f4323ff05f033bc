"""kpi: Police and Crime Plan performance reporting."""

__version__ = "0.1.0"
