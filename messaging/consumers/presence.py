"""Presence over the socket: announcing this person's status, the presence.subscribe and
presence.set frames, following the presence groups of the accounts watched, and passing
on the changes this socket has not seen yet."""

from __future__ import annotations

import asyncio
import json

from accounts.selectors import person_json
from messaging import events, presence, selectors
from messaging.consumers.frames import FrameError
from messaging.database import db


class PresenceMixin:
    """Presence frames and notices of ``PortalConsumer``; uses its ``user``, ``hub``,
    ``socket_id``, ``presence_status`` and ``presence_accounts``."""

    presence_watch = False

    def _announce(self, before: str, after: str) -> None:
        """If the person's overall status changed, tell the accounts they belong to, on every
        worker; sent in the background, in order."""
        if after == before or not self.presence_accounts:
            return
        events.publish_presence(
            account_ids=self.presence_accounts,
            notice={"user": self.user.public_id, "user_pk": self.user.pk, "status": after},
        )

    def presence_entry(self) -> tuple[int, str, str]:
        return (self.user.pk, self.socket_id, self.presence_status)

    async def on_presence_subscribe(self, frame: dict) -> None:
        """Start receiving the presence of the people this user may see: a snapshot now,
        then changes as they happen."""
        await self._gate()
        people, accounts = await db(
            lambda: (
                selectors.visible_people(self.user),
                selectors.presence_watched_account_ids(self.user),
            )
        )()
        # Changes that arrive while the snapshot is read wait, then go through the same
        # "did it change for this socket" filter as every later one.
        self.presence_seen: dict[str, str] = {}
        self.presence_held: list[dict] | None = []
        self.presence_watch = True
        await self._watch_accounts(accounts)
        statuses = await presence.store().statuses([p.pk for p in people])
        users = [{**person_json(p), "status": statuses[p.pk]} for p in people]
        self.presence_seen = {u["id"]: u["status"] for u in users}
        await self._reply({"type": "presence", "users": users}, frame)
        held, self.presence_held = self.presence_held, None
        for notice in held:
            await self._presence_notice(notice)

    async def _watch_accounts(self, accounts: list[int]) -> None:
        wanted = {events.presence_group(a) for a in accounts}
        mine = {g for g in self.hub.groups_of.get(self, ()) if g.startswith("presence.")}
        for group in mine - wanted:
            await self.hub.leave(group, self)
        await asyncio.gather(*(self.hub.join(group, self) for group in wanted - mine))

    async def _presence_notice(self, notice: dict) -> None:
        if not self.presence_watch or notice["user_pk"] == self.user.pk:
            return
        if self.presence_held is not None:
            self.presence_held.append(notice)
            return
        # A person in several of the accounts watched is announced once per account.
        if self.presence_seen.get(notice["user"]) == notice["status"]:
            return
        self.presence_seen[notice["user"]] = notice["status"]
        await self.send(
            text_data=json.dumps(
                {"type": "presence", "users": [{"id": notice["user"], "status": notice["status"]}]}
            )
        )

    async def on_presence_set(self, frame: dict) -> None:
        status = frame.get("status")
        if status not in presence.STATUSES:
            raise FrameError("'status' must be 'online' or 'away'.", fields={"status": "type"})
        await self._gate()
        self.presence_status = status
        before, after = await presence.store().change(self.user.pk, self.socket_id, status)
        self._announce(before, after)
        await self._reply({"type": "ok", "for": "presence.set", "status": status}, frame)
