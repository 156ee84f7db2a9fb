"""Forms parse and validate input only; writes happen in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from accounts.models import AccountStatus, ClientRole, FirmRole, MatterStatus, MatterWord
from accounts.services.firm import Vocabulary


class LoginForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": "That e-mail address and password do not match an account.",
        "inactive": "This account is disabled.",
    }


class PasswordResetForm(forms.Form):
    """The address to send a reset link to. What happens next is the service's business
    (``accounts.services.passwords.password_reset_request``); the page answers the same
    whatever it is."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class NewPasswordMixin(forms.Form):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return cleaned


class AcceptInvitationForm(NewPasswordMixin):
    name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    field_order = ["name", "password1", "password2"]


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    name = forms.CharField(label="Name (optional)", max_length=150, required=False)
    # Optional: the account page shows client admins no role field (they invite members).
    role = forms.ChoiceField(
        label="Role", choices=ClientRole.choices, initial=ClientRole.MEMBER, required=False
    )

    def clean_role(self) -> str:
        return self.cleaned_data.get("role") or ClientRole.MEMBER


class MatterStatusForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=MatterStatus.choices)


class MatterForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    status = forms.ChoiceField(choices=MatterStatus.choices, initial=MatterStatus.PLANNED)
    privileged = forms.BooleanField(
        required=False, label="Privileged: visible only to people I grant"
    )


class GrantForm(forms.Form):
    user = forms.CharField(label="Person", max_length=40)
    # Read through the form like every other field: anything but these two is refused,
    # never taken for a grant.
    action = forms.ChoiceField(
        choices=[("grant", "Grant"), ("revoke", "Withdraw")], required=False, initial="grant"
    )

    def clean_action(self) -> str:
        return self.cleaned_data.get("action") or "grant"


class BrandingForm(forms.Form):
    name = forms.CharField(label="Firm name", max_length=120)
    primary_colour = forms.RegexField(
        label="Primary colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    accent_colour = forms.RegexField(
        label="Accent colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    support_email = forms.EmailField(label="Support e-mail", required=False)
    matter_word = forms.ChoiceField(
        label="What you call a piece of work for a client",
        choices=MatterWord.choices,
        help_text="Used on every page and in every e-mail, e.g. “Open a project”.",
        required=False,
    )
    logo = forms.FileField(label="Logo (PNG, JPEG, GIF or WebP, up to 512 KiB)", required=False)
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    def clean_matter_word(self) -> str | None:
        # Left out of a post: the word stays as it is.
        return self.cleaned_data.get("matter_word") or None


class DocumentRulesForm(forms.Form):
    clients_may_version = forms.BooleanField(
        required=False,
        label="Client admins may upload new versions of the firm's documents",
        help_text="Client members never can; they add their own documents instead.",
    )


class ThreadForm(forms.Form):
    """A new conversation in an account; ``matters`` are the ones the person may choose."""

    title = forms.CharField(label="Title", max_length=200)
    matter = forms.ChoiceField(label="Matter (optional)", required=False)
    privileged = forms.BooleanField(
        required=False,
        label="Privileged",
        help_text="Only you, and the people granted its matter, will see it. "
        "A conversation about a privileged matter is always privileged.",
    )

    def __init__(self, *args, matters=(), vocab: Vocabulary | None = None, **kwargs) -> None:
        # Its own ids: the account page also shows the matter form, with a "title" too.
        kwargs.setdefault("auto_id", "thread_%s")
        super().__init__(*args, **kwargs)
        if vocab is not None:
            self.fields["matter"].label = f"{vocab.matter} (optional)"
            self.fields["privileged"].help_text = (
                f"Only you, and the people granted its {vocab.matter_lower}, will see it. "
                f"A conversation about a privileged {vocab.matter_lower} is always privileged."
            )
        self._matters = {m.public_id: m for m in matters}
        self.fields["matter"].choices = [("", "None: the whole account")] + [
            (m.public_id, m.title) for m in matters
        ]

    def clean_matter(self):
        chosen = self.cleaned_data.get("matter")
        return self._matters.get(chosen) if chosen else None


class FolderForm(forms.Form):
    """A new folder in an account's vault; ``folders`` (with ``folder`` and ``indented``, depth
    first) are the parents to choose from."""

    name = forms.CharField(label="Folder name", max_length=120)
    parent = forms.ChoiceField(label="Inside", required=False)

    def __init__(self, *args, folders=(), **kwargs) -> None:
        kwargs.setdefault("auto_id", "folder_%s")
        initial = dict(kwargs.pop("initial", None) or {})
        if initial.get("parent") is not None:
            initial["parent"] = initial["parent"].public_id
        super().__init__(*args, initial=initial, **kwargs)
        self._folders = {node.folder.public_id: node.folder for node in folders}
        self.fields["parent"].choices = [("", "Top level")] + [
            (node.folder.public_id, node.indented) for node in folders
        ]

    def clean_parent(self):
        chosen = self.cleaned_data.get("parent")
        return self._folders.get(chosen) if chosen else None


# --- firm operations: clients, their people, the firm's people ----------------------------


class ClientAccountForm(forms.Form):
    name = forms.CharField(label="Client name", max_length=160)


class AccountStatusForm(forms.Form):
    status = forms.ChoiceField(choices=AccountStatus.choices)
    # Sent by the confirmation page: without it, the page asks first.
    confirm = forms.BooleanField(required=False)


class TeamAddForm(forms.Form):
    """Someone of the firm's staff to put on a team; ``staff`` are the ones to choose from."""

    user = forms.ChoiceField(label="Staff member")
    lead = forms.BooleanField(label="Make them the account lead", required=False)

    def __init__(self, *args, staff=(), **kwargs) -> None:
        kwargs.setdefault("auto_id", "team_%s")
        super().__init__(*args, **kwargs)
        self._staff = {person.public_id: person for person in staff}
        self.fields["user"].choices = [("", "Choose a person")] + [
            (person.public_id, person.name) for person in staff
        ]

    def clean_user(self):
        return self._staff[self.cleaned_data["user"]]


class TeamChangeForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("lead", "Make lead"), ("unlead", "No longer lead"), ("remove", "Take off")]
    )
    confirm = forms.BooleanField(required=False)


class PersonChangeForm(forms.Form):
    """A client person's new role, their removal (``action=remove``), a link to choose a new
    password (``password``) or their two-factor sign-in removed (``two_factor``); all but a
    role change are confirmed first."""

    action = forms.ChoiceField(
        choices=[
            ("role", "Change role"),
            ("remove", "Remove"),
            ("password", "Send a password link"),
            ("two_factor", "Reset two-factor sign-in"),
        ]
    )
    role = forms.ChoiceField(label="Role", choices=ClientRole.choices, required=False)
    confirm = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "role" and not cleaned.get("role"):
            self.add_error("role", "Choose a role.")
        return cleaned


class StaffAddForm(forms.Form):
    name = forms.CharField(label="Name", max_length=150)
    email = forms.EmailField(label="E-mail address")
    firm_role = forms.ChoiceField(
        label="Role",
        choices=[(FirmRole.STAFF, "Staff"), (FirmRole.ADMIN, "Firm admin")],
        initial=FirmRole.STAFF,
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "staff_%s")
        super().__init__(*args, **kwargs)


class FirmPersonForm(forms.Form):
    """One of the firm's people: a new firm role, switched off (confirmed) or on, a link to
    choose a new password or their two-factor sign-in removed (both confirmed)."""

    action = forms.ChoiceField(
        choices=[
            ("role", "Change role"),
            ("deactivate", "Switch off"),
            ("reactivate", "Switch on"),
            ("password", "Send a password link"),
            ("two_factor", "Reset two-factor sign-in"),
        ]
    )
    firm_role = forms.ChoiceField(
        label="Role",
        choices=[(FirmRole.STAFF, "Staff"), (FirmRole.ADMIN, "Firm admin")],
        required=False,
    )
    confirm = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "role" and not cleaned.get("firm_role"):
            self.add_error("firm_role", "Choose a role.")
        return cleaned


# --- a person's own settings ---------------------------------------------------------------


def _time_zone_choices() -> list[tuple[str, str]]:
    from django.conf import settings

    from accounts.time_zones import time_zone_names

    default = ("", f"The firm's time zone ({settings.TIME_ZONE})")
    return [default] + [(name, name.replace("_", " ")) for name in time_zone_names()]


class ProfileForm(forms.Form):
    """The profile page. Checks of substance (zone known, picture readable) are the
    service's (``accounts.services.profile``); the form parses."""

    name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Dates and times on every page are shown in this zone.",
    )
    avatar = forms.FileField(
        label="Picture (PNG, JPEG, GIF or WebP, up to 2 MB)",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label="Remove my picture", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label="Repeat the new password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "password_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two passwords differ.")
        return cleaned


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )

    def __init__(self, *args, label: str | None = None, help_text: str = "", **kwargs) -> None:
        kwargs.setdefault("auto_id", "code_%s")
        super().__init__(*args, **kwargs)
        if label:
            self.fields["code"].label = label
        self.fields["code"].help_text = help_text


class TwoFactorDisableForm(forms.Form):
    current_password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="A code from your app, or a recovery code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "disable_%s")
        super().__init__(*args, **kwargs)


class FirmTwoFactorForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label="Require two-factor sign-in of firm admins and staff",
        required=False,
        help_text="They set it up at their next page; until then they can do nothing else.",
    )


class LegalHoldForm(forms.Form):
    """A legal hold set (with its reason) or released (confirmed)."""

    action = forms.ChoiceField(choices=[("set", "Set"), ("release", "Release")])
    # Checked by the service (its message names what is missing); the browser asks first.
    reason = forms.CharField(
        label="Why the hold is set",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"required": True}),
    )
    confirm = forms.BooleanField(required=False)
