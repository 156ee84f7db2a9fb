from accounts.contrast import brand_palette
from accounts.models import Firm
from accounts.services.firm import Vocabulary, firm_get, vocabulary

_FIRM = "_atrium_firm"

# The firm's name as the last page of this process showed it: the error page for a server
# failure names the firm without asking the database, which may be what failed.
last_known_firm_name = ""


def request_firm(request) -> Firm:
    """The firm row, read once per request however many processors and templates ask."""
    firm = getattr(request, _FIRM, None)
    if firm is None:
        firm = firm_get()
        setattr(request, _FIRM, firm)
    return firm


def branding(request) -> dict:
    """The firm's branding on every page: name, logo, and its colours with the readable text
    colour for each (``brand_css``, the custom properties base.html's nonce'd style sets)."""
    global last_known_firm_name
    firm = request_firm(request)
    last_known_firm_name = firm.name
    palette = brand_palette(firm.primary_colour, firm.accent_colour)
    return {
        "firm": firm,
        "brand_css": "".join(f"--{name}: {value}; " for name, value in palette.items()).strip(),
    }


def request_vocab(request) -> Vocabulary:
    """The firm's vocabulary, from the firm row this request already read."""
    return vocabulary(firm=request_firm(request))


def vocab(request) -> dict:
    """The firm's words (``{{ vocab.matter }}``, ``{{ vocab.matters_lower }}``) on every page."""
    return {"vocab": request_vocab(request)}
