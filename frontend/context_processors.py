from accounts.services.firm import firm_get
from frontend.contrast import brand_palette

# The firm's name as the last page of this process showed it: the error page for a server
# failure names the firm without asking the database, which may be what failed.
last_known_firm_name = ""


def branding(request) -> dict:
    """The firm's branding on every page: name, logo, and its colours with the readable text
    colour for each (``brand_css``, the custom properties base.html's nonce'd style sets)."""
    global last_known_firm_name
    firm = firm_get()
    last_known_firm_name = firm.name
    palette = brand_palette(firm.primary_colour, firm.accent_colour)
    return {
        "firm": firm,
        "brand_css": "".join(f"--{name}: {value}; " for name, value in palette.items()).strip(),
    }
