"""Every write in the accounts app, with its rules. Import from the submodules."""
