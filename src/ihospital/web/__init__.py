"""Server-rendered pages: layout, templates, static files, page routes shared by all roles."""
