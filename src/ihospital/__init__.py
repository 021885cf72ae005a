"""ihospital: an open-source internet hospital platform (互联网医院平台)."""

__version__ = "0.1.0"
