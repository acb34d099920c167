"""Data files shipped inside the package (the demo corpus lives in ``demo/``)."""
