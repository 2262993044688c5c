"""Historical backfill with QuickBooks: import a company's history, (re)post old orders."""
