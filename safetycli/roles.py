"""The role vocabulary shared by protocols and the crew roster.

One list, so a protocol that says `armourer` instead of `armorer` is caught by the validator rather
than producing a run nobody on the roster can sign.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from safetycli.i18n import N_, _

ROLES: dict[str, str] = {
    "producer": (
        "Producer / UPM: hires a qualified armorer with enough days and staff, names the safety "
        "contact, approves roster changes, unlocks locked-out crew, acts on complaints."
    ),
    "armorer": (
        "Armorer or property master in charge of firearms: the only custodian; obtains, stores, "
        "inspects and loads; the only person who hands a firearm to a performer; may stop filming."
    ),
    "first_ad": (
        "1st assistant director: runs the safety meeting and the set's safety calls; asks the "
        "armorer to show each firearm safe; never loads or hands over a firearm; restarts the set."
    ),
    "actor": (
        "Performer who handles a firearm: watches the check, says the announced state back, "
        "hands it back on cut, may ask for a re-check at any time."
    ),
    "dp": (
        "Director of photography / camera: is shown each cleared firearm; shields and eye and "
        "ear protection for anyone in the line of fire."
    ),
    "safety_advisor": (
        "Independent safety advisor: writes the scene's risk assessment; no other job on the "
        "production."
    ),
    "safety_rep": (
        "The production's safety representative: attends every firearm safety meeting and takes "
        "complaints."
    ),
    "stunt_coordinator": "Stunt coordinator: attends the safety meeting, plans the action.",
}


def describe(role: str, extra: Mapping[str, str] | None = None) -> str:
    return ROLES.get(role) or (extra or {}).get(role, "")


# How people say a role on set: the same words on the screen, in `checklists show` and in reports.
_SPOKEN = {"first_ad": "1st AD"}
_WORDS = {"ad": "AD", "dp": "DP", "upm": "UPM"}


# The shipped roles in the reader's language (spoken below); a production's own roles are its
# own words and are shown as it spells them.
_SAID = {
    # Translators: the roles on a film set, as short as people say them on set.
    "producer": N_("producer"),
    "armorer": N_("armorer"),
    "first_ad": N_("1st AD"),
    "actor": N_("actor"),
    "dp": N_("DP"),
    "safety_advisor": N_("safety advisor"),
    "safety_rep": N_("safety rep"),
    "stunt_coordinator": N_("stunt coordinator"),
}


def spoken(role: str) -> str:
    """A role as the reader says it, in the interface's language: for what is shown, never for
    what is recorded (the log keeps `role_name`'s English, whoever walked the run)."""
    said = _SAID.get(role)
    return _(said) if said is not None else role_name(role)


def role_name(role: str) -> str:
    """`first_ad` -> `1st AD`, `safety_rep` -> `safety rep`: one spelling of a role wherever
    people read it, so a prompt and the printed protocol never disagree."""
    if role in _SPOKEN:
        return _SPOKEN[role]
    return " ".join(_WORDS.get(word, word) for word in role.split("_"))


# --- the production's own roles ------------------------------------------------------------------
#
# A production declares the roles its own protocols need (a pyrotechnician, a stunt performer, a
# medic) in its workspace's config.toml, as a `[roles]` table of id = what the role does:
#
#     [roles]
#     pyrotechnician = "Licensed pyrotechnician: rigs and fires every effect, clears the set after"
#
# config.toml rather than the log or a file of its own: a role is vocabulary, like the production's
# name, not a fact about a person (who holds it is the roster, in the log); the workspace's own
# protocols, which use it, are files beside it; and `checklists validate` must check a protocol
# without opening the log. Removing a role later makes protocols that use it fail validation and
# `crew add` refuse it, while everyone's recorded roles stay as the log says.

# Compiled on first use (`re`'s own cache): only a workspace that declares roles checks one.
ROLE_ID = r"[a-z][a-z0-9_]{0,63}"
DOES_MAX = 300
# A production role this close to a shipped one is a spelling of it (`armourer`), which would
# let a protocol slip past the "did you mean" check and ask for a role nobody else uses.
_TOO_CLOSE = 0.85


def production_roles(table: object, where: str) -> dict[str, str]:
    """The `[roles]` table of a workspace's config, checked: a lowercase id (as protocols spell
    roles), not a shipped role nor a spelling of one, and a plain line saying what the role does.
    A problem raises SafetyError naming `where` (the config file) and the role."""
    import difflib  # only when a workspace declares roles: `status` need not pay for it

    from safetycli.errors import SafetyError

    if table is None:
        return {}
    example = 'e.g. pyrotechnician = "Licensed pyrotechnician: rigs and fires every effect"'
    if not isinstance(table, dict):
        raise SafetyError(f"{where}: `roles` must be a table of role = what it does ({example})")
    found: dict[str, str] = {}
    for role, does in table.items():
        shown = repr(role)[1:-1][:64]
        if not re.fullmatch(ROLE_ID, role):
            raise SafetyError(
                f"{where}: role `{shown}` in [roles]: a role id is lowercase letters, digits and "
                "`_`, starting with a letter (as protocols spell it), e.g. `stunt_performer`"
            )
        if role in ROLES:
            raise SafetyError(
                f"{where}: `{role}` in [roles] is already a role (see `safetycli crew roles`): "
                "remove it, or give the production's own role an id of its own"
            )
        near = difflib.get_close_matches(role, list(ROLES), n=1, cutoff=_TOO_CLOSE)
        if near:
            raise SafetyError(
                f"{where}: `{role}` in [roles] is a spelling of the role `{near[0]}`: use "
                f"`{near[0]}`, or an id nobody could mistake for it"
            )
        if not isinstance(does, str) or not " ".join(does.split()):
            raise SafetyError(f"{where}: say what a `{role}` does on set ({example})")
        text = " ".join(does.split())
        if len(text) > DOES_MAX:
            raise SafetyError(
                f"{where}: what a `{role}` does is at most {DOES_MAX} characters "
                f"(this has {len(text)}): one line, as `safetycli crew roles` shows it"
            )
        found[role] = text
    return found


def known(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every role a protocol or the roster may name: the shipped ones, then the production's."""
    return {**ROLES, **(extra or {})}
