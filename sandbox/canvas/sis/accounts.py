"""``accounts.csv`` (``AccountImporter``): sub-accounts under the root or a parent account."""

from __future__ import annotations

from sandbox.canvas.records import Account
from sandbox.canvas.sis.context import ImportContext, picker, status_is
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(
        source.header, ("account_id", "parent_account_id", "name", "status", "integration_id")
    )
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        account_id, parent_id, name, status, integration_id = pick(raw)
        if not any((account_id, parent_id, name, status, integration_id)):
            continue
        if not account_id:
            ctx.warn(source.name, "No account_id given for an account", lineno, raw)
            continue
        parent = None
        if parent_id:
            parent = state.accounts_by_sis.get(parent_id)
            if parent is None:
                ctx.warn(source.name, f"Parent account didn't exist for {account_id}", lineno, raw)
                continue
        account = state.accounts_by_sis.get(account_id)
        state_name = status_is(status, "active", "deleted")
        if account is None:
            if not name:
                ctx.warn(
                    source.name,
                    f"No name given for account {account_id}, skipping",
                    lineno,
                    raw,
                )
                continue
            if state_name is None:
                ctx.warn(
                    source.name,
                    f'Improper status "{status or ""}" for account {account_id}, skipping',
                    lineno,
                    raw,
                )
                continue
        if state_name == "deleted" and ctx.options.skip_deletes:
            continue
        if account is None:
            account = Account(state.new_account_id(), account_id, name or "", None)
            state.accounts[account.id] = account
            state.accounts_by_sis[account_id] = account
            ctx.stat("Account", "created")
        elif name:
            account.name = name
        account.parent_id = parent.id if parent is not None else state.root.id
        if integration_id:
            account.integration_id = integration_id
        if state_name and account.workflow_state != state_name:
            if state_name == "deleted":
                ctx.stat("Account", "deleted")
            account.workflow_state = state_name
        account.sis_import_id = ctx.import_id
        done += 1
    return done
