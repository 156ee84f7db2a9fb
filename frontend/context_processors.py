from accounts.services.firm import firm_get
from frontend.contrast import brand_palette


def branding(request) -> dict:
    """The firm's branding on every page: name, logo, and its colours with the readable text
    colour for each (``brand_css``, the custom properties base.html's nonce'd style sets)."""
    firm = firm_get()
    palette = brand_palette(firm.primary_colour, firm.accent_colour)
    return {
        "firm": firm,
        "brand_css": "".join(f"--{name}: {value}; " for name, value in palette.items()).strip(),
    }
