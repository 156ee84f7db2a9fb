from accounts.services.firm import firm_get


def branding(request) -> dict:
    """The firm's branding on every page (name, logo, colours as CSS variables)."""
    return {"firm": firm_get()}
