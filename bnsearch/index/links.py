"""Related-headline links as index data: keys, resolution rule and anchors.

An edge is one related link on a source page: its headline, optional URL and optional
target id. Resolution (documented in ``docs/index-format.md``): an edge with a
``target_id`` points at the live article with that id; otherwise it points at every live
article whose URL equals the edge's URL or whose title key equals the headline's key
(:func:`title_key`, the normalized headline). Self-links are ignored. An article's
``anchors`` are the headlines of all live edges that point at it, ordered by (source id,
link number), so they do not depend on the order articles were added.
"""

from __future__ import annotations

from collections.abc import Callable

from bnsearch.articles.links import title_key

__all__ = ["resolve_edge", "title_key"]


def resolve_edge(
    source_id: str,
    key: str,
    url: str,
    target_id: str,
    *,
    live_id: Callable[[str], bool],
    ids_by_url: Callable[[str], list[str]],
    ids_by_key: Callable[[str], list[str]],
) -> list[str]:
    """Target ids of one edge under the resolution rule of this module (no self-links)."""
    if target_id:
        return [target_id] if target_id != source_id and live_id(target_id) else []
    found: list[str] = []
    if url:
        found.extend(ids_by_url(url))
    if key:
        found.extend(ids_by_key(key))
    return [ident for ident in dict.fromkeys(found) if ident != source_id]
