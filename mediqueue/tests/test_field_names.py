"""Requests are camelCase, answers snake_case (the original client's contract), and the API's
own description says so (issue 23: nothing did)."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def property_names(schema: dict, components: dict, seen: frozenset = frozenset()) -> set[str]:
    """Every property name in ``schema``, following $ref, allOf/oneOf/anyOf, items."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return (
            set() if name in seen else property_names(components[name], components, seen | {name})
        )
    names = set(schema.get("properties", {}))
    children = list(schema.get("properties", {}).values())
    children += [*schema.get("allOf", []), *schema.get("oneOf", []), *schema.get("anyOf", [])]
    if isinstance(schema.get("items"), dict):
        children.append(schema["items"])
    for child in children:
        names |= property_names(child, components, seen)
    return names


@pytest.fixture
def openapi(client) -> dict:
    return json.loads(client.get("/api/schema").content)


def test_every_request_field_is_camel_case_and_every_answer_field_snake_case(openapi):
    components = openapi["components"]["schemas"]
    sent, answered = set(), set()
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                sent |= property_names(content["schema"], components)
            for response in operation.get("responses", {}).values():
                for content in response.get("content", {}).values():
                    answered |= property_names(content["schema"], components)

    assert {"userId", "slotId", "startTime", "totalSeats"} <= sent
    assert {"slot_id", "start_time", "booked_seats"} <= answered
    assert [name for name in sent if "_" in name] == []
    assert [name for name in answered if re.search(r"[A-Z]", name)] == []


def test_the_api_description_says_how_fields_are_named(openapi):
    description = openapi["info"]["description"]

    assert "requests are camelCase" in description
    assert "answers are snake_case" in description
