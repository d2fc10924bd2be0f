"""Zone and name handling, and the thin boto3 wrappers that page or batch."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import find_hosted_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import list_health_check_tags
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import list_hosted_zones_named
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import list_record_sets
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import normalize_dns_name
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import parse_zone_reference
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import pick_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import record_in_zone


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Z1D633PJN98FT9", ("id", "Z1D633PJN98FT9")),
        ("/hostedzone/Z1D633PJN98FT9", ("id", "Z1D633PJN98FT9")),
        ("example.com", ("name", "example.com.")),
        ("Example.COM.", ("name", "example.com.")),
    ],
)
def test_parse_zone_reference(value, expected):
    assert parse_zone_reference(value) == expected


@pytest.mark.parametrize(
    "name, expected",
    [("App.Example.com", "app.example.com."), ("app.example.com.", "app.example.com."), ("*.example.com", "\\052.example.com.")],
)
def test_normalize_dns_name(name, expected):
    assert normalize_dns_name(name) == expected


@pytest.mark.parametrize(
    "record, zone, inside",
    [
        ("app.example.com", "example.com.", True),
        ("example.com", "example.com", True),
        ("app.example.org", "example.com.", False),
        ("appexample.com", "example.com.", False),
    ],
)
def test_record_in_zone(record, zone, inside):
    assert record_in_zone(record, zone) is inside


PUBLIC = {"Id": "/hostedzone/ZPUB", "Name": "example.com.", "Config": {"PrivateZone": False}}
PRIVATE_A = {"Id": "/hostedzone/ZPRIVA", "Name": "example.com.", "Config": {"PrivateZone": True}}
PRIVATE_B = {"Id": "/hostedzone/ZPRIVB", "Name": "example.com.", "Config": {"PrivateZone": True}}


@pytest.mark.parametrize(
    "zones, private, zone, problem",
    [
        ([PUBLIC, PRIVATE_A], False, PUBLIC, None),
        ([PUBLIC, PRIVATE_A], True, PRIVATE_A, None),
        ([PRIVATE_A], False, None, "no public zone"),
        ([PUBLIC, PRIVATE_A, PRIVATE_B], True, None, "2 private zones (ZPRIVA, ZPRIVB)"),
    ],
)
def test_pick_zone(zones, private, zone, problem):
    assert pick_zone(zones, private) == (zone, problem)


class FakeRoute53:
    """Just enough of a Route 53 client for the wrappers that page or batch."""

    def __init__(self, zones=(), records=(), tags=None):
        self.zones = list(zones)
        self.records = list(records)
        self.tags = tags or {}
        self.tag_calls = []

    def list_hosted_zones_by_name(self, DNSName, HostedZoneId=None):
        zones = sorted(self.zones, key=lambda z: (z["Name"], z["Id"]))
        zones = [z for z in zones if (z["Name"], z["Id"]) >= (DNSName, HostedZoneId or "")]
        page, rest = zones[:1], zones[1:]
        result = {"HostedZones": page, "IsTruncated": bool(rest)}
        if rest:
            result.update(NextDNSName=rest[0]["Name"], NextHostedZoneId=rest[0]["Id"])
        return result

    def get_paginator(self, name):
        assert name == "list_resource_record_sets"
        return self

    def paginate(self, HostedZoneId, StartRecordName, StartRecordType=None):
        records = [r for r in self.records if (r["Name"], r["Type"]) >= (StartRecordName, StartRecordType or "")]
        for record in records:
            yield {"ResourceRecordSets": [record]}

    def list_tags_for_resources(self, ResourceType, ResourceIds):
        assert ResourceType == "healthcheck"
        self.tag_calls.append(list(ResourceIds))
        return {"ResourceTagSets": [{"ResourceId": i, "Tags": [{"Key": "k", "Value": i}]} for i in ResourceIds]}


def test_list_hosted_zones_named_follows_pages_and_stops():
    other = {"Id": "/hostedzone/ZOTHER", "Name": "example.net.", "Config": {"PrivateZone": False}}
    client = FakeRoute53(zones=[PUBLIC, PRIVATE_A, other])
    assert list_hosted_zones_named(client, "Example.com") == [PRIVATE_A, PUBLIC]


def test_find_hosted_zone_sentences():
    client = FakeRoute53(zones=[PUBLIC])
    assert find_hosted_zone(client, "example.com") == (PUBLIC, None)
    zone, problem = find_hosted_zone(client, "example.org")
    assert zone is None
    assert problem == (
        "hosted_zone 'example.org' matches no public zone named example.org; "
        "pass an existing zone name with the right private_zone, or the zone id."
    )


def test_list_record_sets_only_returns_the_name_and_type():
    records = [
        {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "a"},
        {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "b"},
        {"Name": "app.example.com.", "Type": "AAAA", "SetIdentifier": "a"},
        {"Name": "app2.example.com.", "Type": "A", "SetIdentifier": "a"},
    ]
    client = FakeRoute53(records=records)
    assert list_record_sets(client, "Z1", "APP.example.com", "A") == records[:2]
    assert list_record_sets(client, "Z1", "app.example.com") == records[:3]


def test_list_health_check_tags_batches_of_ten():
    client = FakeRoute53()
    ids = [f"hc-{i:02d}" for i in range(23)]
    tags = list_health_check_tags(client, ids)
    assert [len(c) for c in client.tag_calls] == [10, 10, 3]
    assert tags["hc-22"] == {"k": "hc-22"}
    assert list_health_check_tags(client, []) == {}
