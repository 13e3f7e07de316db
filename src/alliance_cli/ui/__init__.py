"""Terminal user interface: everything that draws with rich lives here."""
