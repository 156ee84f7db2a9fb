from django.db import migrations, models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce


def count_messages(apps, schema_editor):
    """Fill the counts ``messaging.read_state`` keeps: each thread's undeleted messages, and
    for each read state those of them not unread to its person (up to the read position, or
    their own). A person who wrote in a thread without a read state gets one at position 0,
    so that their own messages are counted as theirs."""
    Thread = apps.get_model("messaging", "Thread")
    Message = apps.get_model("messaging", "Message")
    ReadState = apps.get_model("messaging", "ReadState")
    live = Message.objects.filter(deleted_at__isnull=True)

    def counted(rows):
        return Coalesce(
            Subquery(rows.values("thread").annotate(n=Count("pk")).values("n")[:1]), Value(0)
        )

    Thread.objects.update(message_count=counted(live.filter(thread=OuterRef("pk"))))
    authored = live.values_list("author_id", "thread_id").distinct()
    stated = set(ReadState.objects.values_list("user_id", "thread_id"))
    ReadState.objects.bulk_create(
        [
            ReadState(user_id=user_id, thread_id=thread_id, last_read_seq=0)
            for user_id, thread_id in authored
            if (user_id, thread_id) not in stated
        ],
        batch_size=1000,
    )
    ReadState.objects.update(
        read_count=counted(
            live.filter(thread=OuterRef("thread")).filter(
                Q(seq__lte=OuterRef("last_read_seq")) | Q(author=OuterRef("user"))
            )
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0010_message_created_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="thread",
            name="message_count",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="readstate",
            name="read_count",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(count_messages, migrations.RunPython.noop),
    ]
