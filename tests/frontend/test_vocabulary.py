"""The firm's word for a matter: chosen on the Branding page, said on every page and e-mail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.errors import Invalid
from accounts.models import MatterWord
from accounts.services import invitations as invitation_services
from accounts.services.firm import Vocabulary, firm_get, firm_update_branding, vocabulary
from tests import factories

BRANDING = reverse("frontend:branding")


def _branding(**overrides) -> dict:
    return {
        "name": "Northwind",
        "primary_colour": "#0a7b83",
        "accent_colour": "#f2a541",
        **overrides,
    }


def _set_word(word: str) -> None:
    firm = firm_get()
    firm.matter_word = word
    firm.save()


@pytest.mark.django_db
def test_the_default_word_is_matter():
    assert vocabulary() == Vocabulary(
        matter="Matter", matters="Matters", matter_lower="matter", matters_lower="matters"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("word", "plural"),
    [("Matter", "Matters"), ("Project", "Projects"), ("Engagement", "Engagements")],
)
def test_each_word_has_its_forms(word, plural):
    _set_word(word)
    vocab = vocabulary()
    assert (vocab.matter, vocab.matters) == (word, plural)
    assert (vocab.matter_lower, vocab.matters_lower) == (word.lower(), plural.lower())


def test_the_firm_admin_chooses_the_word_on_the_branding_page(client, people):
    client.force_login(people["firm_admin"])
    page = client.get(BRANDING).content.decode()
    assert 'name="matter_word"' in page
    assert '<label for="id_matter_word">' in page
    response = client.post(BRANDING, _branding(matter_word="Project"))
    assert response.status_code == 302
    assert firm_get().matter_word == MatterWord.PROJECT


def test_a_branding_post_without_the_word_leaves_it(client, people):
    _set_word("Engagement")
    client.force_login(people["firm_admin"])
    assert client.post(BRANDING, _branding()).status_code == 302
    assert firm_get().matter_word == "Engagement"


def test_an_unknown_word_is_refused_and_nothing_changes(client, people):
    client.force_login(people["firm_admin"])
    before = firm_get()
    response = client.post(BRANDING, _branding(name="Changed", matter_word="Case"))
    assert response.status_code == 400
    assert "matter_word" in response.context["form"].errors
    after = firm_get()
    assert (after.name, after.matter_word) == (before.name, before.matter_word)


def test_the_service_refuses_an_unknown_word(people):
    with pytest.raises(Invalid) as raised:
        firm_update_branding(
            actor=people["firm_admin"],
            name="Northwind",
            primary_colour="#0a7b83",
            accent_colour="#f2a541",
            matter_word="matter",
        )
    assert raised.value.fields == {"matter_word": "invalid"}
    assert firm_get().matter_word == "Matter"


def test_pages_say_the_firms_word(client, people, acme):
    _set_word("Project")
    factories.matter(acme, title="Relaunch")
    client.force_login(people["staff_on_team"])
    account_page = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert '<h2 id="matters-h">Projects</h2>' in account_page
    assert "Open a project" in account_page
    assert "Project (optional)" in account_page
    assert ">Matters<" not in account_page and "Open a matter" not in account_page
    home = client.get(reverse("frontend:home")).content.decode()
    assert "Open projects" in home and "Open matters" not in home


def test_the_word_costs_no_query_of_its_own(client, people, acme):
    """The firm row the branding reads is the one the vocabulary reads."""
    client.force_login(people["client_member"])
    client.get(reverse("frontend:account", args=[acme.public_id]))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("frontend:account", args=[acme.public_id]))
    firm_reads = [q for q in queries.captured_queries if '"accounts_firm"' in q["sql"]]
    assert len(firm_reads) == 1


def test_e_mails_say_the_firms_word(people, acme, django_capture_on_commit_callbacks):
    _set_word("Engagement")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_services.invitation_create(
            actor=people["staff_on_team"], account=acme, email="nina@example.test"
        )
    (sent,) = mail.outbox
    assert "engagements" in sent.body
    assert "engagements" in sent.alternatives[0][0]
