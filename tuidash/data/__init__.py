"""Data files shipped inside the package (the bundled sample data set)."""
