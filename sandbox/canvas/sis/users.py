"""``users.csv`` (``UserImporter``): users, their logins and integration ids, and the
removal of a deleted user's enrollments."""

from __future__ import annotations

from sandbox.canvas.records import E_DELETED, OBSERVER, User
from sandbox.canvas.sis.context import ImportContext, picker, status_is
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    options = ctx.options
    pick = picker(
        source.header,
        (
            "user_id",
            "login_id",
            "status",
            "first_name",
            "last_name",
            "full_name",
            "sortable_name",
            "short_name",
            "email",
            "integration_id",
            "declared_user_type",
        ),
    )
    done = 0
    removed: set[int] = set()
    for lineno, raw in ctx.locked_rows(source):
        values = pick(raw)
        user_id, login_id, status, first, last, full, sortable, short, email = values[:9]
        integration_id, declared = values[9:]
        if not any(values) and not any(v.strip() for v in raw):
            continue
        problem = None
        if not user_id:
            problem = "No user_id given for a user"
        elif not login_id:
            problem = f"No login_id given for user {user_id}"
        elif not status:
            problem = f"No status given for user {user_id}"
        elif status_is(status, "active", "suspended", "deleted") is None:
            problem = f"Improper status for user {user_id}"
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        assert user_id is not None
        assert login_id is not None
        assert status is not None
        lowered = status.lower()
        if lowered.startswith("deleted") and options.skip_deletes:
            continue
        status_name = lowered if lowered in ("active", "suspended", "deleted") else "active"
        user = state.users_by_sis.get(user_id)
        holder = state.logins.get(login_id.lower())
        if holder is not None and holder.login_state == "deleted":
            holder = None
        by_integration = state.users_by_integration.get(integration_id) if integration_id else None
        if by_integration is not None and status_name != "deleted" and by_integration is not user:
            ctx.warn(
                source.name,
                f"An existing Canvas user with the {_who(by_integration)} has already "
                f"claimed {user_id}'s requested integration_id, skipping",
                lineno,
                raw,
            )
            continue
        if user is None:
            user = holder
        if user is not None:
            if user.sis_id and user.sis_id != user_id:
                if options.update_sis_id_if_login_claimed:
                    state.users_by_sis.pop(user.sis_id, None)
                    user.sis_id = user_id
                    state.users_by_sis[user_id] = user
                else:
                    ctx.warn(
                        source.name,
                        f"An existing Canvas user with the SIS ID {user.sis_id} has already "
                        f"claimed {user_id}'s user_id requested login information, skipping",
                        lineno,
                        raw,
                    )
                    continue
            if holder is not None and holder is not user and status_name != "deleted":
                ctx.warn(
                    source.name,
                    f"An existing Canvas user with the {_who(holder)} has already claimed "
                    f"{user_id}'s user_id requested login information, skipping",
                    lineno,
                    raw,
                )
                continue
            if user.sis_id is None:
                user.sis_id = user_id
                state.users_by_sis[user_id] = user
            if full:
                user.name = full
            elif first or last:
                user.name = " ".join((first or "", last or ""))
            if sortable:
                user.sortable_name = sortable
            elif first or last:
                user.sortable_name = ", ".join((last or "", first or ""))
            elif full:
                user.sortable_name = _sortable(full)
            if short:
                user.short_name = short
            if user.login_state == "deleted" and status_name != "deleted":
                ctx.stat("Pseudonym", "restored")
        else:
            name = full or (" ".join((first or "", last or "")) if first or last else None)
            name = name or sortable or short or login_id
            user = state.add_user(user_id, login_id, name)
            if sortable:
                user.sortable_name = sortable
            elif first or last:
                user.sortable_name = ", ".join((last or "", first or ""))
            else:
                user.sortable_name = _sortable(name)
            user.short_name = short
            ctx.stat("Pseudonym", "created")
        if user.login_id.lower() != login_id.lower():
            state.logins.pop(user.login_id.lower(), None)
            state.logins[login_id.lower()] = user
        user.login_id = login_id
        if integration_id:
            if user.integration_id:
                state.users_by_integration.pop(user.integration_id, None)
            user.integration_id = integration_id
            state.users_by_integration[integration_id] = user
        if email:
            user.email = email
        if declared:
            user.declared_user_type = None if declared == "<delete>" else declared
        if status_name == "deleted" and user.login_state != "deleted":
            removed.add(user.id)
            ctx.stat("Pseudonym", "deleted")
        user.login_state = status_name
        user.sis_import_id = ctx.import_id
        done += 1
    if removed:
        _remove_enrollments_of(ctx, removed)
    return done


def _remove_enrollments_of(ctx: ImportContext, user_ids: set[int]) -> None:
    """A user whose last login is deleted loses every enrollment (Canvas's rule)."""
    with ctx.state.lock:
        for section in ctx.state.sections.values():
            for type_code, members in section.enrollments.items():
                for key in members:
                    user_id = key[0] if type_code == OBSERVER else key
                    if user_id in user_ids and members[key] != E_DELETED:
                        members[key] = E_DELETED
                        ctx.stat("Enrollment", "deleted")


def _who(user: User) -> str:
    return f"SIS ID {user.sis_id}" if user.sis_id else f"Canvas ID {user.id}"


def _sortable(name: str) -> str:
    """Canvas's inference of "Last, First" from a full name."""
    parts = name.rsplit(" ", 1)
    return f"{parts[1]}, {parts[0]}" if len(parts) == 2 else name
