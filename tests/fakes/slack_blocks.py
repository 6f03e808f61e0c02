"""Block Kit validation with Slack's documented limits, so the fake refuses what Slack refuses.

Covers the blocks a bot like ours sends (section, header, context, divider, actions, image,
rich_text) and the button element; anything else is refused as Slack would refuse an
unknown type. Limits: https://docs.slack.dev/reference/block-kit/blocks
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


class BlockError(ValueError):
    """Why Slack would answer ``invalid_blocks``."""


def _text_object(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
    if not isinstance(obj, Mapping):
        raise BlockError(f"{where}: must be a text object")
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        raise BlockError(f"{where}: type must be one of {allowed}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise BlockError(f"{where}: text must be a non-empty string")
    if len(text) > limit:
        raise BlockError(f"{where}: text longer than {limit} characters")


def _button(element: Mapping[str, Any], where: str, action_ids: set[str]) -> None:
    _text_object(element.get("text"), f"{where}.text", 75, plain_only=True)
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            raise BlockError(f"{where}.action_id: 1-255 characters")
        if action_id in action_ids:
            raise BlockError(f"{where}.action_id: {action_id!r} is not unique")
        action_ids.add(action_id)
    if len(str(element.get("value", ""))) > 2000:
        raise BlockError(f"{where}.value: longer than 2000 characters")
    if len(str(element.get("url", ""))) > 3000:
        raise BlockError(f"{where}.url: longer than 3000 characters")
    if element.get("style") not in (None, "primary", "danger"):
        raise BlockError(f"{where}.style: must be primary or danger")


def _element(element: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(element, Mapping):
        raise BlockError(f"{where}: must be an object")
    if element.get("type") == "button":
        _button(element, where, action_ids)
    elif element.get("type") == "image":
        if not element.get("image_url") or not element.get("alt_text"):
            raise BlockError(f"{where}: image needs image_url and alt_text")
    elif element.get("type") not in ("overflow", "static_select", "users_select", "datepicker"):
        raise BlockError(f"{where}: unsupported element type {element.get('type')!r}")


def _block(block: Any, where: str, action_ids: set[str], block_ids: set[str]) -> None:
    if not isinstance(block, Mapping):
        raise BlockError(f"{where}: must be an object")
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or len(block_id) > 255 or block_id in block_ids:
            raise BlockError(f"{where}.block_id: must be unique and at most 255 characters")
        block_ids.add(block_id)
    kind = block.get("type")
    if kind == "section":
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            raise BlockError(f"{where}: section needs text or fields")
        if block.get("text") is not None:
            _text_object(block["text"], f"{where}.text", 3000)
        for i, f in enumerate(fields or []):
            _text_object(f, f"{where}.fields[{i}]", 2000)
        if fields is not None and len(fields) > 10:
            raise BlockError(f"{where}.fields: at most 10")
        if block.get("accessory") is not None:
            _element(block["accessory"], f"{where}.accessory", action_ids)
    elif kind == "header":
        _text_object(block.get("text"), f"{where}.text", 150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 10:
            raise BlockError(f"{where}.elements: 1-10 elements")
        for i, e in enumerate(elements):
            if isinstance(e, Mapping) and e.get("type") == "image":
                _element(e, f"{where}.elements[{i}]", action_ids)
            else:
                _text_object(e, f"{where}.elements[{i}]", 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 25:
            raise BlockError(f"{where}.elements: 1-25 elements")
        for i, e in enumerate(elements):
            _element(e, f"{where}.elements[{i}]", action_ids)
    elif kind == "image":
        _element(block, where, action_ids)
    elif kind not in ("divider", "rich_text"):
        raise BlockError(f"{where}: unsupported block type {kind!r}")


def validate_blocks(blocks: Any, limit: int = MAX_MESSAGE_BLOCKS) -> None:
    """Raise BlockError unless ``blocks`` is a list Slack would accept in a message."""
    if not isinstance(blocks, list):
        raise BlockError("blocks: must be a list")
    if len(blocks) > limit:
        raise BlockError(f"blocks: at most {limit} blocks, got {len(blocks)}")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        _block(block, f"blocks[{i}]", action_ids, block_ids)


def validate_view(view: Mapping[str, Any]) -> None:
    """Raise BlockError unless ``view`` is a Home tab or modal Slack would publish."""
    kind = view.get("type")
    if kind not in ("home", "modal"):
        raise BlockError("view.type: must be home or modal")
    if kind == "modal":
        _text_object(view.get("title"), "view.title", 24, plain_only=True)
    validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS)
