"""Which addresses a webhook may reach, and how a URL is stored."""

from __future__ import annotations

import ipaddress

import pytest

from mything.addresses import check_host, check_url, is_public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("2002:7f00:1::", False),
    ],
)
def test_only_public_unicast_addresses_are_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_a_stored_url_is_normalised():
    assert check_url("https://Bücher.example/h?q=1") == (
        "https://xn--bcher-kva.example/h?q=1"
    )
    assert check_url("https://example.com") == "https://example.com/"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "https://",
        "https://a@example.com/",
        "https://x/" + "a" * 2000,
    ],
)
def test_urls_that_cannot_be_webhooks_are_refused(url):
    with pytest.raises(ValueError):
        check_url(url)


def test_http_is_refused_unless_allowed():
    with pytest.raises(ValueError, match="https"):
        check_url("http://example.com/")
    assert check_url("http://example.com/", allow_http=True) == "http://example.com/"


def test_a_host_inside_the_network_is_refused_unless_allowed():
    with pytest.raises(ValueError, match="public"):
        check_host("https://127.0.0.1/")
    check_host("https://127.0.0.1/", allow_private=True)
