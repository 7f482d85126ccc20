"""Many users at once: users in files (CSV or XLSX) to import, export, or start from as a template."""
