"""`bundler audit`: ELF parsing and what a wheelhouse needs from the target system."""
