"""What the vault puts into threads (declared from ``VaultConfig.ready()``): a document added,
or a new version of one, drawn in the browser by ``vault/static/vault/js/timeline.js``."""

from messaging.timeline import EventType, NoticeKind

DOCUMENT_NOTICE = NoticeKind("document", "Document", "added a document in {thread}")
DOCUMENT_ADDED = EventType(
    "document.added", notifies=DOCUMENT_NOTICE, renderer="vault/js/timeline.js"
)
