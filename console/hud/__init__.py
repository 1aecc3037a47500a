"""The workshop HUD: what it shows (``view``), how it is laid out (``layout``), its big digits
(``bigdigits``) and the help flag (``helpflag``).  No Textual here."""
