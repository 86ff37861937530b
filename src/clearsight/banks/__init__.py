"""Hash banks: named lists of known signals with their metadata, and their file formats."""
