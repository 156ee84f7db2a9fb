"""A billing document as a Factur-X (ZUGFeRD 2) electronic invoice: the CII XML of profile
EN 16931, and its embedding into the printed PDF as PDF/A-3 with the ``factur-x`` library.

Only what the document knows is written: parties (name, address lines, country, VAT number,
e-mail), the lines with their net price, price discount and VAT rate, one VAT breakdown per
rate, totals, amounts already paid, the due date and terms. Rates above zero are VAT category
"S" (standard), zero rates "Z" (zero-rated): the document does not say whether a line is
exempt or reverse-charged, so categories E/AE/K/O are never written.
"""

from __future__ import annotations

import functools
import io
from datetime import date
from decimal import Decimal

import facturx
from lxml import etree
from PIL import ImageCms
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from billing.documents import BillingDocument, Line, Party

PROFILE = "en16931"
GUIDELINE = "urn:cen.eu:en16931:2017"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
UNIT = "C62"  # UN/ECE rec. 20 "one": lines carry no unit of measure
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# VAT numbers start with the country's code, except Greece's ("EL").
_VAT_PREFIX_COUNTRY = {"EL": "GR"}


class FacturXError(ValueError):
    """The document cannot be written as an EN 16931 invoice (the message lists why)."""


def country_of(party: Party) -> str:
    """The party's ISO 3166 country: its own, else its VAT number's prefix, else ""."""
    if party.country:
        return party.country.upper()
    prefix = party.vat_number[:2].upper()
    if len(prefix) == 2 and prefix.isalpha():
        return _VAT_PREFIX_COUNTRY.get(prefix, prefix)
    return ""


def gaps(document: BillingDocument) -> list[str]:
    """Why the document cannot be a Factur-X EN 16931 invoice; empty when it can."""
    found = []
    if document.kind not in TYPE_CODES:
        found.append(f"a {document.kind} is not an invoice")
    if document.number is None:
        found.append("a draft has no number")
    if document.issue_date is None:
        found.append("no issue date")
    if document.minor_units > 2:
        found.append(f"EN 16931 allows two decimals, {document.currency} has three")
    if not document.lines:
        found.append("no lines")
    if not document.seller.vat_number:
        found.append("the seller has no VAT number")
    for role, party in (("seller", document.seller), ("buyer", document.buyer)):
        if not country_of(party):
            found.append(f"the {role}'s country is unknown")
    return found + _sum_gaps(document)


def _sum_gaps(document: BillingDocument) -> list[str]:
    """EN 16931's arithmetic (BR-CO-10, -14, -15, -16): the XML states the document's sums,
    so a document whose sums disagree would be an invalid invoice."""
    found = []
    if document.subtotal != sum((line.net for line in document.lines), Decimal(0)):
        found.append("the subtotal is not the sum of the lines")
    if document.tax != sum((band.tax for band in document.bands), Decimal(0)):
        found.append("the tax is not the sum of the bands")
    if document.total != document.subtotal + document.tax:
        found.append("the total is not subtotal + tax")
    if document.kind == "invoice" and _prepaid(document) != document.total - document.balance:
        found.append("the balance is not total - paid - credited")
    return found


def _prepaid(document: BillingDocument) -> Decimal:
    return document.paid + document.credited


# Writing the XML ----------------------------------------------------------------------------


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal, document: BillingDocument) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-document.minor_units)):f}"


def _decimal(value: Decimal) -> str:
    """A price, quantity or rate as written: plain notation, no trailing zeros."""
    return f"{value.normalize():f}"


def _date(parent: etree._Element, tag: str, value: date) -> None:
    wrapper = _el(parent, tag)
    _el(wrapper, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    node = _el(parent, tag)
    _el(node, "ram:Name", party.legal_name)
    address = _el(node, "ram:PostalTradeAddress")
    lines = [line.strip() for line in party.address.splitlines() if line.strip()]
    if lines:
        # CII has three address lines; further lines join the third rather than being lost.
        for tag_name, text in zip(
            ("ram:LineOne", "ram:LineTwo", "ram:LineThree"),
            [*lines[:2], ", ".join(lines[2:])],
            strict=False,
        ):
            if text:
                _el(address, tag_name, text)
    _el(address, "ram:CountryID", country_of(party))
    if party.email:
        uri = _el(node, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", party.email, schemeID="EM")
    if party.vat_number:
        registration = _el(node, "ram:SpecifiedTaxRegistration")
        _el(registration, "ram:ID", party.vat_number, schemeID="VA")


def _category(rate: Decimal) -> str:
    return "S" if rate > 0 else "Z"


def _line(parent: etree._Element, index: int, line: Line, document: BillingDocument) -> None:
    item = _el(parent, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
    _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    discount = line.unit_price * line.discount / 100
    if line.discount:
        gross = _el(agreement, "ram:GrossPriceProductTradePrice")
        _el(gross, "ram:ChargeAmount", _decimal(line.unit_price))
        allowance = _el(gross, "ram:AppliedTradeAllowanceCharge")
        _el(_el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
        _el(allowance, "ram:ActualAmount", _decimal(discount))
    net_price = _el(agreement, "ram:NetPriceProductTradePrice")
    _el(net_price, "ram:ChargeAmount", _decimal(line.unit_price - discount))
    delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
    _el(delivery, "ram:BilledQuantity", _decimal(line.quantity), unitCode=UNIT)
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _el(tax, "ram:TypeCode", "VAT")
    _el(tax, "ram:CategoryCode", _category(line.tax_rate))
    _el(tax, "ram:RateApplicablePercent", _decimal(line.tax_rate))
    summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(line.net, document))


def _settlement(parent: etree._Element, document: BillingDocument) -> None:
    settlement = _el(parent, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:InvoiceCurrencyCode", document.currency)
    for band in document.bands:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(band.tax, document))
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:BasisAmount", _amount(band.base, document))
        _el(tax, "ram:CategoryCode", _category(band.rate))
        _el(tax, "ram:RateApplicablePercent", _decimal(band.rate))
    if document.terms.strip() or document.due_date:
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        if document.terms.strip():
            _el(terms, "ram:Description", document.terms.strip())
        if document.due_date:
            _date(terms, "ram:DueDateDateTime", document.due_date)
    _totals(settlement, document)
    if document.kind == "credit_note" and document.corrects:
        referenced = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(referenced, "ram:IssuerAssignedID", document.corrects)


def _totals(parent: etree._Element, document: BillingDocument) -> None:
    totals = _el(parent, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(totals, "ram:LineTotalAmount", _amount(document.subtotal, document))
    _el(totals, "ram:TaxBasisTotalAmount", _amount(document.subtotal, document))
    _el(
        totals,
        "ram:TaxTotalAmount",
        _amount(document.tax, document),
        currencyID=document.currency,
    )
    _el(totals, "ram:GrandTotalAmount", _amount(document.total, document))
    due = document.total
    if document.kind == "invoice":
        _el(totals, "ram:TotalPrepaidAmount", _amount(_prepaid(document), document))
        due = document.balance
    _el(totals, "ram:DuePayableAmount", _amount(due, document))


def facturx_xml(document: BillingDocument) -> bytes:
    """The Factur-X EN 16931 CII XML of a numbered invoice (type 380) or credit note (381),
    checked against the profile's XSD. Raises ``FacturXError`` listing ``gaps(document)``."""
    found = gaps(document)
    if found:
        raise FacturXError("; ".join(found))
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)
    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", document.number)
    _el(header, "ram:TypeCode", TYPE_CODES[document.kind])
    _date(header, "ram:IssueDateTime", document.issue_date)
    if document.notes.strip():
        _el(_el(header, "ram:IncludedNote"), "ram:Content", document.notes.strip())
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(document.lines, start=1):
        _line(transaction, index, line, document)
    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", document.seller)
    _party(agreement, "ram:BuyerTradeParty", document.buyer)
    _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _settlement(transaction, document)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    facturx.xml_check_xsd(xml, flavor="factur-x", level=PROFILE)
    return xml


# Embedding into the PDF ---------------------------------------------------------------------


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's, through Pillow) for the PDF/A output intent."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _output_intent(writer: PdfWriter) -> DictionaryObject:
    profile = DecodedStreamObject()
    profile.set_data(srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/DestOutputProfile"): writer._add_object(profile.flate_encode()),
        }
    )


def _complete_pdfa(pdf: bytes) -> bytes:
    """What the factur-x library leaves out of PDF/A-3: an output intent for the device
    colours (sRGB), a PDF 1.7 header (ReportLab writes 1.3 and the library's own attempt does
    not reach pypdf 7), and an Info dictionary that says what the XMP says: the library writes
    /Keywords to Info but not to XMP, and ReportLab's /Producer and /Trapped have no XMP twin."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer._root_object[NameObject("/OutputIntents")] = ArrayObject(
        [writer._add_object(_output_intent(writer))]
    )
    info = dict(writer.metadata or {})
    for key in ("/Keywords", "/Trapped"):
        info.pop(key, None)
    writer.metadata = {**info, "/Producer": "pypdf"}
    writer.pdf_header = "%PDF-1.7"
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def embed(pdf: bytes, xml: bytes, document: BillingDocument) -> bytes:
    """The PDF as PDF/A-3B with ``factur-x.xml`` attached (AFRelationship Data) and the
    Factur-X XMP metadata, via ``facturx.generate_from_binary`` (which checks the XSD again)."""
    kind = "Invoice" if document.kind == "invoice" else "Credit note"
    metadata = {
        "author": document.seller.legal_name,
        "title": f"{document.seller.legal_name}: {kind} {document.number}",
        "subject": f"{kind} {document.number} for {document.buyer.legal_name}",
    }
    hybrid = facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level=PROFILE,
        check_xsd=True,
        pdf_metadata=metadata,
        lang="en",
    )
    return _complete_pdfa(hybrid)
