"""Buy-link tokens (``/buy/<token>``): short, signed for one preview job, expiring, and of a
purpose of their own — neither a results-page token nor a download signature passes for one."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.payments.conftest import make_settings
from web import DownloadLinks

JOB = "0123456789abcdef0123456789abcdef"
NOW = 1_800_000_000


def test_a_buy_link_names_one_job_and_expires(sqlite_url: str) -> None:
    links = DownloadLinks(make_settings(sqlite_url, download_ttl_s=3600))
    url = links.buy_url(JOB, now=NOW)
    assert url.startswith("https://bot.example.test/buy/") and len(url) < 120
    token = urlsplit(url).path.rsplit("/", 1)[1]
    assert links.verify_buy(token, now=NOW + 3599) == JOB
    assert links.verify_buy(token, now=NOW + 3601) is None  # expired
    job, expires, sig = token.split(".")
    assert links.verify_buy(f"{job[:-1]}0.{expires}.{sig}", now=NOW) is None  # another job
    assert links.verify_buy(f"{job}.{int(expires) + 9}.{sig}", now=NOW) is None  # longer life
    other = DownloadLinks(make_settings(sqlite_url, download_secret="another-secret"))
    assert other.verify_buy(token, now=NOW) is None
    # A results-page token for the same job is not a buy token, and the other way round.
    page = links.page_token(JOB, now=NOW)
    assert links.verify_buy(page, now=NOW) is None
    assert links.verify_page(token, now=NOW) is None
