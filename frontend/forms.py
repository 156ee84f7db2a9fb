"""Forms parse and validate input only; writes happen in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from accounts.models import ClientRole, MatterStatus


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
    logo = forms.FileField(label="Logo (PNG, JPEG, GIF or WebP, up to 512 KiB)", required=False)
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)


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

    def __init__(self, *args, matters=(), **kwargs) -> None:
        # Its own ids: the account page also shows the matter form, with a "title" too.
        kwargs.setdefault("auto_id", "thread_%s")
        super().__init__(*args, **kwargs)
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
