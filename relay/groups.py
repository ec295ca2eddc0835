"""Channel-layer group names, built from ids in this one place.

Every socket of a signed-in member joins its user's group and its tenant's
group. Room events are sent to each current room member's user group (the
member list read in the transaction that stored the event), so a membership
change takes effect with the next event and nobody joins a group named by a
client.
"""


def user_group(tenant_id: int, username: str) -> str:
    return f"u.{tenant_id}.{username}"


def tenant_group(tenant_id: int) -> str:
    return f"t.{tenant_id}"
