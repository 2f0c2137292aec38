"""Outbound orders: imported from a file (bad rows kept aside with reasons, a re-import adds
nothing twice) and measured on the dashboard as leakage outside the network."""

import csv

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from refloop.analytics.models import OutboundOrder
from refloop.web.forms_dashboards import last_full_month
from tests.web.helpers import sign_in
from tests.web.test_dashboards import in_month

HEADER = ["Order #", "Ordered", "Specialty", "Done in network", "Done by"]


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _import(path):
    call_command(
        "refloop_outbound", str(path), "--column", "order_id=Order #",
        "--column", "ordered_at=Ordered", "--column", "service_line=Specialty",
        "--column", "performed_in_network=Done in network", "--column", "performer=Done by",
    )  # fmt: skip


def test_it_measures_orders_that_went_outside_the_network(client, manager, tmp_path):
    month = last_full_month()
    day = in_month(month, 5).strftime("%Y-%m-%d %H:%M")
    path = _write(
        tmp_path / "orders.csv",
        [
            ["A1", day, "Cardiology", "yes", "Our Heart Center"],
            ["A2", day, "Cardiology", "no", "Elsewhere Cardiology"],
            ["A3", day, "Cardiology", "no", "Elsewhere Cardiology"],
            ["A4", day, "Cardiology", "", ""],  # not known yet: not counted either way
            ["A5", "next Tuesday", "Cardiology", "yes", ""],  # no time: left out
            ["A6", day, "Cardiology", "maybe", ""],  # neither yes nor no: left out
        ],
    )
    _import(path)
    assert OutboundOrder.objects.count() == 4
    quarantine = list(csv.reader((tmp_path / "quarantine-orders.csv").open()))
    assert [row[:2] for row in quarantine[1:]] == [
        ["5", "ordered_at (Ordered): 'next Tuesday' is no time"],
        ["6", "performed_in_network (Done in network): 'maybe' is not yes or no"],
    ]
    _import(path)  # the same file again: nothing twice
    assert OutboundOrder.objects.count() == 4

    sign_in(client, manager)
    leakage = client.get(reverse("dashboards")).context["leakage"]["result"]
    # Of the 3 orders whose performer is known, 2 went outside: 66.7%.
    assert leakage.outside_network == 2
    assert leakage.outside_label == "66.7%"


def test_it_says_not_measured_without_orders_and_refuses_a_file_without_its_columns(
    client, manager, tmp_path
):
    sign_in(client, manager)
    assert client.get(reverse("dashboards")).context["leakage"]["result"].outside_label == (
        "not measured"
    )
    path = _write(tmp_path / "orders.csv", [["A1", "2026-01-05", "Cardiology", "yes", ""]])
    with pytest.raises(CommandError, match="no column for order_id"):
        call_command("refloop_outbound", str(path))
