"""The role vocabulary shared by protocols and the crew roster.

One list, so a protocol that says `armourer` instead of `armorer` is caught by the validator rather
than producing a run nobody on the roster can sign.
"""

from __future__ import annotations

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


def describe(role: str) -> str:
    return ROLES.get(role, "")


# How people say a role on set: the same words on the screen, in `checklists show` and in reports.
_SPOKEN = {"first_ad": "1st AD"}
_WORDS = {"ad": "AD", "dp": "DP", "upm": "UPM"}


def role_name(role: str) -> str:
    """`first_ad` -> `1st AD`, `safety_rep` -> `safety rep`: one spelling of a role wherever
    people read it, so a prompt and the printed protocol never disagree."""
    if role in _SPOKEN:
        return _SPOKEN[role]
    return " ".join(_WORDS.get(word, word) for word in role.split("_"))
