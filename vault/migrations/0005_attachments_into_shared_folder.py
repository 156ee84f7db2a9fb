"""Files shared in conversations before the "Shared in conversations" folder existed move
into it: every document a message carries as an attachment and that nobody has filed in a
folder since. Documents already in a folder stay where people put them."""

from django.db import migrations

SHARED_FOLDER_NAME = "Shared in conversations"


def attachments_into_shared_folder(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    Document = apps.get_model("vault", "Document")
    Folder = apps.get_model("vault", "Folder")
    shared = set()
    for attachments in (
        Message.objects.exclude(attachments=[]).values_list("attachments", flat=True).iterator()
    ):
        for attachment in attachments or []:
            if isinstance(attachment, dict) and attachment.get("document"):
                shared.add(attachment["document"])
    if not shared:
        return
    unfiled = Document.objects.filter(public_id__in=shared, folder__isnull=True)
    folders = {}
    for account_id in unfiled.values_list("account_id", flat=True).distinct():
        folder = Folder.objects.filter(account_id=account_id, for_conversations=True).first()
        if folder is None:
            folder, _ = Folder.objects.update_or_create(
                account_id=account_id,
                parent=None,
                name=SHARED_FOLDER_NAME,
                defaults={"for_conversations": True},
            )
        folders[account_id] = folder
    for account_id, folder in folders.items():
        unfiled.filter(account_id=account_id).update(folder=folder)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_notification_kind_open"),
        ("vault", "0004_folder_for_conversations"),
    ]

    operations = [
        migrations.RunPython(attachments_into_shared_folder, migrations.RunPython.noop),
    ]
