"""Reading an Engage web process's /metrics in a test."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.clients import Api


async def scrape(api: Api, token: str | None = None) -> str:
    resp = await api.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else None)
    assert resp.status == 200, resp.body
    assert resp.headers["Content-Type"].startswith("text/plain")
    return resp.body


def value(text: str, sample: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include these (0 when there is none)."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )
