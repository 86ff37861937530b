"""Bank file formats: one streaming parser per format."""
