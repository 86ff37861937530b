"""The server's routes, one module per area; each route names its access rule."""
