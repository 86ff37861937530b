"""The routes of the matching service, by HMA blueprint: status, hashing (``/h``),
matching (``/m``), curation (``/c``) and exchanges (``/c/exchange…``)."""
