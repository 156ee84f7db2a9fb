"""The Factur-X (EN 16931) CII XML of an invoice or credit note."""

from __future__ import annotations

import re
from decimal import Decimal

import facturx
import pytest
from lxml import etree

from billing.documents import Party
from billing.einvoice import NS, FacturXError, country_of, facturx_xml, gaps
from billing.pdf import facturx_xml as facturx_xml_from_pdf_module
from tests.billing.documents import BUYER, SELLER, document, invoice, line


def find(root: etree._Element, path: str) -> list[str]:
    return [node.text for node in root.findall(path, NS)]


def test_the_xml_validates_against_the_en16931_xsd():
    xml = facturx_xml(invoice())

    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert facturx.get_level(etree.fromstring(xml), "factur-x") == "en16931"
    assert facturx_xml_from_pdf_module(invoice()) == xml


def test_the_xml_carries_the_documents_values():
    doc = invoice()
    root = etree.fromstring(facturx_xml(doc))

    assert find(root, "rsm:ExchangedDocument/ram:ID") == ["INV-2026-00042"]
    assert find(root, "rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert find(root, ".//ram:IssueDateTime/udt:DateTimeString") == ["20261207"]
    assert find(root, ".//ram:DueDateDateTime/udt:DateTimeString") == ["20270106"]
    assert find(root, ".//ram:SpecifiedTradePaymentTerms/ram:Description") == [
        "Payable within 30 days."
    ]
    assert find(root, ".//ram:InvoiceCurrencyCode") == ["EUR"]
    assert find(root, ".//ram:SellerTradeParty/ram:Name") == ["Müller & Søn, Zoë GmbH"]
    assert find(root, ".//ram:SellerTradeParty//ram:CountryID") == ["DE"]
    assert find(root, ".//ram:BuyerTradeParty//ram:CountryID") == ["IE"]  # from the VAT number
    assert find(root, ".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == [
        "IE6388047V"
    ]
    items = root.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)
    assert [Decimal(item.findtext(".//ram:LineTotalAmount", namespaces=NS)) for item in items] == [
        item.net for item in doc.lines
    ]
    assert [item.findtext(".//ram:RateApplicablePercent", namespaces=NS) for item in items] == [
        "20",
        "20",
        "7",
    ]
    bands = root.findall("./*/ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", NS)
    assert [
        (
            Decimal(band.findtext("ram:RateApplicablePercent", namespaces=NS)),
            Decimal(band.findtext("ram:BasisAmount", namespaces=NS)),
            Decimal(band.findtext("ram:CalculatedAmount", namespaces=NS)),
            band.findtext("ram:CategoryCode", namespaces=NS),
        )
        for band in bands
    ] == [(band.rate, band.base, band.tax, "S") for band in doc.bands]


def test_a_discount_is_a_price_allowance_and_the_net_price_is_after_it():
    root = etree.fromstring(facturx_xml(invoice()))
    discounted = root.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)[1]

    assert find(discounted, ".//ram:GrossPriceProductTradePrice/ram:ChargeAmount") == ["250"]
    assert find(discounted, ".//ram:AppliedTradeAllowanceCharge/ram:ActualAmount") == ["25"]
    assert find(discounted, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["225"]
    assert find(discounted, ".//ram:BilledQuantity") == ["2"]


def test_a_zero_rate_is_category_z():
    doc = document([line("Export service", "1", "100.00", tax_rate="0")])
    root = etree.fromstring(facturx_xml(doc))

    assert find(root, ".//ram:CategoryCode") == ["Z", "Z"]  # the line and its band
    assert facturx.xml_check_xsd(facturx_xml(doc), flavor="factur-x", level="en16931")


def test_a_zero_decimal_currency_writes_whole_amounts():
    doc = document([line("Retainer", "1", "123456", minor_units=0)], currency="JPY", minor_units=0)
    root = etree.fromstring(facturx_xml(doc))

    assert find(root, ".//ram:GrandTotalAmount") == ["148147"]
    assert find(root, ".//ram:TaxTotalAmount") == ["24691"]


def test_a_credit_note_references_the_invoice_it_corrects():
    doc = invoice(kind="credit_note", number="CN-2026-003", corrects="INV-2026-00042")
    root = etree.fromstring(facturx_xml(doc))

    assert find(root, "rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert find(root, ".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["INV-2026-00042"]
    assert find(root, ".//ram:TotalPrepaidAmount") == []
    assert find(root, ".//ram:DuePayableAmount") == [f"{doc.total}"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"number": None}, "a draft has no number"),
        ({"kind": "proposal"}, "a proposal is not an invoice"),
        ({"issue_date": None}, "no issue date"),
        ({"seller": Party(legal_name="Firm", country="FR")}, "the seller has no VAT number"),
        ({"buyer": Party(legal_name="Someone")}, "the buyer's country is unknown"),
        ({"balance": Decimal("1.00")}, "the balance is not total - paid - credited"),
        ({"subtotal": Decimal("1.00")}, "the subtotal is not the sum of the lines"),
        ({"tax": Decimal("1.00")}, "the tax is not the sum of the bands"),
        ({"total": Decimal("1.00")}, "the total is not subtotal + tax"),
    ],
)
def test_what_en16931_cannot_describe_is_refused_with_the_reason(fields, reason):
    doc = invoice(**fields)

    assert reason in gaps(doc)
    with pytest.raises(FacturXError, match=re.escape(reason)):
        facturx_xml(doc)


def test_three_decimals_are_refused():
    doc = document([line("Retainer", "1", "1.234", minor_units=3)], currency="KWD", minor_units=3)

    with pytest.raises(FacturXError, match="EN 16931 allows two decimals, KWD has three"):
        facturx_xml(doc)


def test_the_country_comes_from_the_party_or_its_vat_number():
    assert country_of(SELLER) == "DE"
    assert country_of(BUYER) == "IE"
    assert country_of(Party(legal_name="A", vat_number="EL094259216")) == "GR"
    assert country_of(Party(legal_name="A", country="at")) == "AT"
    assert country_of(Party(legal_name="A")) == ""
